import { describe, expect, it } from "bun:test";
import { coalescedStarts } from "../../src/workers/outbox-relay/try-starts";

describe("coalesced try starts", () => {
  it("counts the starts of one wave in one statement and those asked during it in the next", async () => {
    const statements: string[][] = [];
    let later: Promise<boolean> | undefined;
    const start = coalescedStarts(
      async (ids) => {
        statements.push(ids);
        if (statements.length === 1) later = start("d");
        await Bun.sleep(5);
        return ids.filter((id) => id !== "b");
      },
      () => {},
    );
    const wave = await Promise.all(["a", "b", "c"].map((id) => start(id)));
    expect(wave).toEqual([true, false, true]);
    expect(await later).toBe(true);
    expect(statements).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("starts nothing when the count cannot be written, and reports why", async () => {
    const errors: unknown[] = [];
    const start = coalescedStarts(
      async () => {
        throw new Error("connection lost");
      },
      (err) => errors.push(err),
    );
    expect(await Promise.all([start("a"), start("b")])).toEqual([false, false]);
    expect(errors).toHaveLength(1);
    expect(await start("c")).toBe(false);
    expect(errors).toHaveLength(2);
  });
});
