import { writeSync } from "node:fs";

/** Lines wait at most one turn of the event loop; a turn's worth of lines goes out in one write. */
const MAX_PENDING_BYTES = 1024 * 1024;

export interface LogOutput {
  write(line: string): void;
  /** Writes whatever is pending now (shutdown, exit). */
  flush(): void;
}

/**
 * Log lines for a file descriptor (stdout), written once per event-loop turn instead of once per line:
 * a busy server logs many requests a turn, and a system call per access-log line halves its throughput.
 * The writes stay synchronous (a slow reader slows us down rather than losing lines), and whatever is
 * pending is written on exit, so a crash or `process.exit()` keeps its last lines.
 *
 * (pino's own asynchronous destination, sonic-boom, re-measures its whole pending buffer for every line,
 * which costs more than the system call it saves.)
 */
export function bufferedOutput(fd: number): LogOutput {
  // One string appended to (a rope in JavaScriptCore: appending is cheap, the bytes are copied once, by the
  // write), rather than an array joined and copied into a Buffer before every write.
  let pending = "";
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending;
    pending = "";
    writeFully(fd, chunk);
  };
  process.on("exit", flush);

  return {
    write(line: string) {
      pending += line;
      if (pending.length >= MAX_PENDING_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** A non-blocking pipe may take part of a chunk, or none for a moment (EAGAIN): keep writing the rest. */
function writeFully(fd: number, text: string): void {
  let offset = 0;
  // Nearly always the whole line batch goes in one write; only a short write needs its bytes (and their count).
  try {
    offset = writeSync(fd, text);
    if (offset >= text.length && offset === Buffer.byteLength(text)) return;
  } catch (error) {
    if ((error as { code?: string }).code !== "EAGAIN") return;
  }
  const chunk = Buffer.from(text);
  while (offset < chunk.length) {
    try {
      offset += writeSync(fd, chunk, offset);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") return;
      Bun.sleepSync(1);
    }
  }
}

let stdout: LogOutput | undefined;

/** The process's one buffered stdout (one exit hook however many loggers write to it). */
export function bufferedStdout(): LogOutput {
  stdout ??= bufferedOutput(1);
  return stdout;
}
