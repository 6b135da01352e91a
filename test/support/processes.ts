// Helpers for tests that run Kicks as a real process (`bun src/index.ts`, the compiled binary).

/** A port nobody listens on right now (the OS picks it; a child then binds it). */
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

/**
 * Resolves once `base`/healthz answers 200; throws if the process exits first or 90 s pass (a fresh embedded
 * database's start-up has taken over 30 s on a busy CI machine).
 */
export async function waitForHealth(base: string, child: Bun.Subprocess): Promise<void> {
  for (let i = 0; i < 900 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  // Say why: a child that exited has written its reason to stderr (when that is piped).
  const stderr =
    child.exitCode !== null && child.stderr instanceof ReadableStream ? await new Response(child.stderr).text() : "";
  throw new Error(`server did not become healthy (exit code ${child.exitCode})${stderr ? `:\n${stderr}` : ""}`);
}

/** The log a child wrote to a piped stdout, read once it has exited: every line must be JSON. */
export async function logLines(stdout: ReadableStream<Uint8Array>): Promise<Record<string, any>[]> {
  const text = await new Response(stdout).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}

/** Everything a child with piped output wrote, and its exit code, once it has exited. */
export async function finished(child: Bun.Subprocess<any, "pipe", "pipe">) {
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, exitCode };
}
