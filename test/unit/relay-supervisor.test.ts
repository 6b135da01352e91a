import { describe, expect, it } from "bun:test";
import { createLogger } from "../../src/infra/logger";
import { type RelayWorker, superviseRelayWorker } from "../../src/workers/outbox-relay/start";
import { relayConfig } from "../support/outbox";
import { waitFor } from "../support/wait";

/** A stand-in for a worker thread that starts (or not) and dies when the test says so. */
function fakeWorker(starts: boolean) {
  let die: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    die = resolve;
  });
  let stopped = false;
  const worker: RelayWorker = {
    started: starts ? Promise.resolve() : Promise.reject(new Error("no such script")),
    stopping: exited,
    exited,
    kill: () => die(),
    async stop() {
      stopped = true;
      die();
    },
  };
  worker.started.catch(() => {});
  return { worker, die, wasStopped: () => stopped };
}

describe("the relay worker's supervisor", () => {
  it("starts a worker that died again, and stops the one running when asked", async () => {
    const logs: Record<string, any>[] = [];
    const logger = createLogger("error", {}, { write: (line: string) => logs.push(JSON.parse(line)) });
    const workers: ReturnType<typeof fakeWorker>[] = [];
    const handle = superviseRelayWorker(
      relayConfig(),
      () => {},
      logger,
      () => {
        const fake = fakeWorker(true);
        workers.push(fake);
        return fake.worker;
      },
    );
    expect(workers).toHaveLength(1);
    workers[0]!.die();
    await waitFor("a second worker", () => workers.length === 2);
    expect(logs.some((line) => line.msg === "outbox relay worker exited unexpectedly; restarting it")).toBe(true);
    await handle.stop();
    expect(workers[1]!.wasStopped()).toBe(true);
    await Bun.sleep(50);
    expect(workers).toHaveLength(2);
  });

  it("ends a worker that failed to start and waits longer each time before the next", async () => {
    const logs: Record<string, any>[] = [];
    const logger = createLogger("error", {}, { write: (line: string) => logs.push(JSON.parse(line)) });
    let spawned = 0;
    const handle = superviseRelayWorker(
      relayConfig(),
      () => {},
      logger,
      () => {
        spawned++;
        return fakeWorker(false).worker;
      },
    );
    await waitFor("two restarts", () => spawned >= 3, 10_000);
    await handle.stop();
    const delays = logs.filter((line) => line.restartInMs !== undefined).map((line) => line.restartInMs);
    expect(delays.slice(0, 2)).toEqual([1000, 2000]);
    expect(logs.some((line) => line.msg === "outbox relay worker failed to start")).toBe(true);
  });
});
