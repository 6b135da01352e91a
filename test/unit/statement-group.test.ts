import { describe, expect, it } from "bun:test";
import { StatementGroup } from "../../src/infra/db/statement-group";

// The grouping itself (no database): who goes alone, who goes together, and what a failed group's members get.
// The statements behind it are tested on PostgreSQL in test/integration/payment-complete-group.test.ts.
function recording(
  options: {
    maxSize?: number;
    patienceMs?: number;
    failGroupWith?: (inputs: readonly string[]) => boolean;
    onGroupFailure?: (error: unknown, size: number) => void;
  } = {},
) {
  const sent: string[][] = [];
  const waiting: (() => void)[] = [];
  const gate = () => new Promise<void>((resolve) => void waiting.push(resolve));
  const group = new StatementGroup<string, string>({
    maxSize: options.maxSize ?? 32,
    ...(options.patienceMs === undefined ? {} : { patienceMs: options.patienceMs }),
    ...(options.onGroupFailure ? { onGroupFailure: options.onGroupFailure } : {}),
    keyOf: (input) => input.split(":")[0] as string,
    one: async (input) => {
      sent.push([input]);
      await gate();
      if (input.endsWith("bad")) throw new Error(`${input} failed`);
      return `${input} done`;
    },
    many: async (inputs) => {
      sent.push([...inputs]);
      await gate();
      if (options.failGroupWith?.(inputs)) throw new Error("group failed");
      return inputs.map((input) => `${input} done in group`);
    },
  });
  /** Lets the oldest statement in flight return. */
  const next = async () => {
    while (waiting.length === 0) await Bun.sleep(1);
    (waiting.shift() as () => void)();
  };
  return { group, sent, next };
}

describe("a statement group", () => {
  it("sends a lone member at once, alone, and those arriving meanwhile together when it returns", async () => {
    const { group, sent, next } = recording();
    const first = group.run("a");
    expect(sent).toEqual([["a"]]);
    const rest = ["b", "c", "d"].map((input) => group.run(input));
    expect(sent).toHaveLength(1);
    await next();
    expect(await first).toBe("a done");
    await next();
    expect(await Promise.all(rest)).toEqual(["b done in group", "c done in group", "d done in group"]);
    expect(sent).toEqual([["a"], ["b", "c", "d"]]);
  });

  it("takes at most maxSize members, and never one key twice, into a group", async () => {
    const { group, sent, next } = recording({ maxSize: 2 });
    const all = [group.run("a"), group.run("b"), group.run("b:again"), group.run("c"), group.run("d")];
    for (let i = 0; i < 3; i++) await next();
    await Promise.all(all);
    expect(sent).toEqual([["a"], ["b", "c"], ["b:again", "d"]]);
  });

  it("sends a failed group's members again alone: each gets its own outcome", async () => {
    const { group, sent, next } = recording({ failGroupWith: (inputs) => inputs.some((i) => i.endsWith("bad")) });
    const first = group.run("a");
    const rest = [group.run("b"), group.run("c:bad"), group.run("d")].map((p) =>
      p.then(String, (e: Error) => e.message),
    );
    for (let i = 0; i < 5; i++) await next();
    await first;
    expect(await Promise.all(rest)).toEqual(["b done", "c:bad failed", "d done"]);
    expect(sent).toEqual([["a"], ["b", "c:bad", "d"], ["b"], ["c:bad"], ["d"]]);
  });

  it("sends the members waiting behind a statement past its patience alone, and groups again once it returns", async () => {
    const { group, sent, next } = recording({ patienceMs: 30 });
    const stuck = group.run("a");
    const behind = group.run("b");
    await Bun.sleep(60);
    // b no longer waits for a: it went alone; c, arriving while a is still out, goes alone at once.
    const late = group.run("c");
    expect(sent).toEqual([["a"], ["b"], ["c"]]);
    for (let i = 0; i < 3; i++) await next();
    expect(await Promise.all([stuck, behind, late])).toEqual(["a done", "b done", "c done"]);
    const after = [group.run("d"), group.run("e"), group.run("f")];
    for (let i = 0; i < 2; i++) await next();
    expect(await Promise.all(after)).toEqual(["d done", "e done in group", "f done in group"]);
    expect(sent.slice(3)).toEqual([["d"], ["e", "f"]]);
  });

  it("tells of a failed group, and sends its members alone even if the listener throws", async () => {
    const told: number[] = [];
    const { group, next } = recording({
      failGroupWith: () => true,
      onGroupFailure: (_error, size) => {
        told.push(size);
        throw new Error("the listener broke");
      },
    });
    const all = [group.run("a"), group.run("b"), group.run("c")];
    for (let i = 0; i < 4; i++) await next();
    expect(await Promise.all(all)).toEqual(["a done", "b done", "c done"]);
    expect(told).toEqual([2]);
  });
});
