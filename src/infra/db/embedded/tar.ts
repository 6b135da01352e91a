import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, normalize } from "node:path";

const BLOCK = 512;
const PAGE = 8192;
const decoder = new TextDecoder();

const isZero = (bytes: Uint8Array) => bytes.every((byte) => byte === 0);

/** Writes `content` to a new file, leaving its all-zero pages as holes (the unused tail of a WAL segment). */
function writeSparse(path: string, content: Uint8Array) {
  const fd = openSync(path, "w", 0o600);
  try {
    for (let at = 0; at < content.length; at += PAGE) {
      const page = content.subarray(at, at + PAGE);
      if (!isZero(page)) writeSync(fd, page, 0, page.length, at);
    }
    ftruncateSync(fd, content.length);
  } finally {
    closeSync(fd);
  }
}

function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

/**
 * Writes the files of a ustar archive (what PGlite's dumpDataDir makes: regular files and folders, names of at most
 * 255 bytes) under `into`, synchronously. PGlite's own loadDataDir goes through its WebAssembly file system, file by
 * file, and costs several times as long; opening a database stays synchronous this way too. Anything other than a
 * file or a folder, or a name that leaves `into`, is refused.
 */
export function unpackTar(archive: Uint8Array, into: string): number {
  let files = 0;
  for (let at = 0; at + BLOCK <= archive.length; ) {
    const header = archive.subarray(at, at + BLOCK);
    if (isZero(header)) break; // the end-of-archive blocks
    if (text(header, 257, 5) !== "ustar") throw new Error(`not a ustar archive (entry at byte ${at})`);
    const prefix = text(header, 345, 155);
    const name = normalize(`${prefix ? `${prefix}/` : ""}${text(header, 0, 100)}`).replace(/^\/+/, "");
    if (name.startsWith("..")) throw new Error(`archive entry outside its folder: ${name}`);
    const size = Number.parseInt(text(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    at += BLOCK;
    if (type === "5") {
      mkdirSync(join(into, name), { recursive: true, mode: 0o700 });
    } else if (type === "0" || type === "\0") {
      mkdirSync(join(into, name, ".."), { recursive: true, mode: 0o700 });
      writeSparse(join(into, name), archive.subarray(at, at + size));
      files++;
    } else {
      throw new Error(`unexpected archive entry type "${type}" for ${name}`);
    }
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
