import { describe, expect, it } from "bun:test";
import { USER_COUPON_MACHINE } from "../../src/domain/coupons/user-coupon-status";
import { ORDER_MACHINE } from "../../src/domain/orders/order-status";
import { EVENT_MACHINE } from "../../src/domain/outbox/event-status";
import { PAYMENT_MACHINE } from "../../src/domain/payments/payment-status";
import { REFUND_MACHINE } from "../../src/domain/refunds/refund-status";

const ROOT = `${import.meta.dir}/../..`;

interface Machine {
  name: string;
  statuses: readonly string[];
  can(from: string, to: string): boolean;
}

/** Each repository that moves a status, and the machine its moves must obey. */
const REPOSITORIES: Record<string, Machine> = {
  "src/infra/db/repositories/order-repository.ts": ORDER_MACHINE as Machine,
  "src/infra/db/repositories/refund-repository.ts": REFUND_MACHINE as Machine,
  "src/infra/db/repositories/payment-repository.ts": PAYMENT_MACHINE as Machine,
  "src/infra/db/repositories/payment-start.ts": PAYMENT_MACHINE as Machine,
  "src/infra/db/repositories/user-coupon-repository.ts": USER_COUPON_MACHINE as Machine,
  "src/infra/db/repositories/outbox-queue.ts": EVENT_MACHINE as Machine,
  "src/infra/db/repositories/outbox-repository.ts": EVENT_MACHINE as Machine,
};

const literalsIn = (text: string, machine: Machine) =>
  [...text.matchAll(/["']([A-Z_]+)["']/g)].map((m) => m[1] as string).filter((s) => machine.statuses.includes(s));

/**
 * What a repository's source says about its moves, read from the text: every update statement (Drizzle's
 * `.update(…)` or SQL `update …`) with the statuses it sets as literals and the statuses its condition names as
 * literals (`= 'X'`, `in ('X', …)`, `eq(….status, "X")`, `inArray(….status, ["X", …])`; an exclusion such as
 * `<> 'SENT'` speaks of other rows and is not a source). A literal source the machine does not let move to a
 * literal target is drift; so is any status list written by hand (two or more literals), even a correct one,
 * since the machine's moves (`ORDER_MOVES`, `REFUND_MOVES`, …) are where such lists come from.
 */
function strayMoves(text: string, machine: Machine): string[] {
  const offences: string[] = [];
  const source = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  const lists = [
    ...source.matchAll(/\bin\s*\(\s*('[A-Z_]+'(?:\s*,\s*'[A-Z_]+')+)\s*\)/g),
    ...source.matchAll(/inArray\([\w.]*status,\s*\[\s*("[A-Z_]+"(?:\s*,\s*"[A-Z_]+")+)/g),
  ];
  for (const list of lists) offences.push(`hand-written status list ${list[1]}`);

  const starts = [...source.matchAll(/\.update\(|\bupdate \$\{/g)].map((m) => m.index as number);
  for (const start of starts) {
    const rest = source.slice(start + 1);
    const end = rest.search(/\.returning\(|\breturning\b|\n {2}async |\n}\n/);
    const statement = end < 0 ? rest : rest.slice(0, end);
    const where = statement.search(/\.where\(|\bwhere\b/);
    if (where < 0) continue;
    const sets = statement.slice(0, where);
    const condition = statement.slice(where);
    const targets = [
      ...literalsIn(sets.match(/status:\s*["'][A-Z_]+["']/g)?.join(" ") ?? "", machine),
      ...literalsIn(sets.match(/set status = [^\n]*/)?.[0] ?? "", machine),
    ];
    const sources = [
      ...(condition.match(/status\s*=\s*'[A-Z_]+'/g) ?? []),
      ...(condition.match(/status\s+in\s*\(\s*'[^)]*\)/g) ?? []),
      ...(condition.match(/eq\([\w.]*status,\s*"[A-Z_]+"\)/g) ?? []),
      ...(condition.match(/inArray\([\w.]*status,\s*\[[^\]]*\]/g) ?? []),
    ].flatMap((text) => literalsIn(text, machine));
    for (const from of sources) {
      for (const to of targets) {
        if (!machine.can(from, to)) offences.push(`${from} → ${to} is not a move of the ${machine.name} machine`);
      }
    }
  }
  return offences;
}

describe("repositories move statuses only as their machines allow", () => {
  it.each(Object.entries(REPOSITORIES))("%s names no move its machine does not allow", async (path, machine) => {
    expect(strayMoves(await Bun.file(`${ROOT}/${path}`).text(), machine)).toEqual([]);
  });

  it("catches a conditional update whose sources drifted from the machine", () => {
    const drifted = `
      async settle() {
        await db.execute(sql\`update \${refunds} set status = 'REFUNDED' where id = \${id} and status = 'FAILED' returning id\`);
      }
      async confirm() {
        await db.update(orders).set({ status: "CONFIRMED" }).where(and(eq(orders.id, id), eq(orders.status, "SHIPPED"))).returning();
      }`;
    expect(strayMoves(drifted, REFUND_MACHINE as Machine)).toEqual([
      "FAILED → REFUNDED is not a move of the refund machine",
    ]);
    expect(strayMoves(drifted, ORDER_MACHINE as Machine)).toEqual([
      "SHIPPED → CONFIRMED is not a move of the order machine",
    ]);
  });

  it("catches a status list written by hand instead of taken from the machine", () => {
    expect(
      strayMoves(`select id from payments where status in ('INITIATED', 'VALIDATING')`, PAYMENT_MACHINE as Machine),
    ).toEqual(["hand-written status list 'INITIATED', 'VALIDATING'"]);
    expect(
      strayMoves(
        `db.update(t).set({ status: "USED" }).where(inArray(t.status, ["ISSUED", "REFUNDED"]))`,
        USER_COUPON_MACHINE as Machine,
      ),
    ).toEqual(['hand-written status list "ISSUED", "REFUNDED"']);
  });
});
