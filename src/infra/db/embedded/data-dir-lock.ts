import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../../config";

/** Another process (or this one) has the embedded database in this DATA_DIR open. */
export class DataDirInUseError extends ConfigError {
  override name = "DataDirInUseError";
}

export const LOCK_FILE = "kicks.lock";
const heldHere = new Set<string>();

/** `host pid` of the process that wrote a lock file, or undefined when it cannot be read. */
function readOwner(path: string): { host: string; pid: number } | undefined {
  try {
    const [host, pid] = readFileSync(path, "utf8").trim().split(" ");
    const parsed = Number(pid);
    return host && Number.isSafeInteger(parsed) && parsed > 0 ? { host, pid: parsed } : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PGlite keeps the whole database in one process's memory and writes its files without any lock of its own: a
 * second process on the same files corrupts them. So the first one to open a DATA_DIR writes `kicks.lock`
 * (`host pid`, linked into place, so exactly one process creates it) and removes it on close; a lock left by a process that is gone (killed,
 * crashed) is taken over. The same pid as ours but not held here is our own earlier life (a container's pid 1
 * restarted). Two processes taking over one stale lock at the same instant could both win: that needs a crash
 * followed by two starts within microseconds, and is left at that.
 *
 * Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  if (heldHere.has(dir)) throw new DataDirInUseError(`DATA_DIR ${dataDir} is already open in this process`);
  mkdirSync(dir, { recursive: true });
  const me = `${hostname()} ${process.pid}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written aside and linked into place: the lock appears whole, or not at all, and only to one process.
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, `${me}\n`);
    try {
      linkSync(draft, path);
      heldHere.add(dir);
      return () => {
        heldHere.delete(dir);
        const owner = readOwner(path);
        if (owner && `${owner.host} ${owner.pid}` === me) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      rmSync(draft, { force: true });
    }
    const owner = readOwner(path);
    if (owner && owner.host !== hostname()) {
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by process ${owner.pid} on ${owner.host} (one process per embedded database); ` +
          `if that process is gone, delete ${path}`,
      );
    }
    if (owner && owner.pid !== process.pid && isRunning(owner.pid)) {
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by process ${owner.pid} (one process per embedded database): stop it, ` +
          "or give this one another DATA_DIR or a DATABASE_URL",
      );
    }
    // Left by a process that is gone.
    rmSync(path, { force: true });
  }
  throw new DataDirInUseError(`DATA_DIR ${dataDir} is being opened by another process at the same moment`);
}
