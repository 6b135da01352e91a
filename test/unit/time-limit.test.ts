import { describe, expect, it } from "bun:test";
import { TimeLimit } from "../../src/routes/middleware/time-limit";

// Every request's REQUEST_TIMEOUT_MS, kept with one timer for all of them (src/routes/middleware/time-limit.ts).
describe("the time limit", () => {
  it("lets work that ends in time through, and forgets it", async () => {
    const limit = new TimeLimit(60_000);
    expect(await limit.within(Promise.resolve())).toBe(true);
    expect(await limit.within(Bun.sleep(1).then(() => {}))).toBe(true);
    expect(limit.pending).toBe(0);
  });

  it("passes a failure of the work on", async () => {
    const limit = new TimeLimit(60_000);
    await expect(limit.within(Promise.reject(new Error("broken")))).rejects.toThrow("broken");
  });

  it("gives up on each piece of work still running at its deadline, the others go on", async () => {
    const limit = new TimeLimit(20);
    let release = () => {};
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const outcomes = await Promise.all([
      limit.within(stuck),
      limit.within(Promise.resolve()),
      limit.within(stuck),
      limit.within(Bun.sleep(1).then(() => {})),
    ]);
    expect(outcomes).toEqual([false, true, false, true]);
    expect(limit.pending).toBe(0);
    // Work that ends after its deadline changes nothing, and later work still gets its full limit.
    release();
    expect(await limit.within(Bun.sleep(1).then(() => {}))).toBe(true);
    expect(await limit.within(new Promise<void>(() => {}))).toBe(false);
  });
});
