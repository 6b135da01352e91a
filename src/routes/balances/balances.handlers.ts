import type { AppRouteHandler } from "../lib/app-env";
import { personalJson } from "../middleware/response-headers";
import type { chargeBalance, getBalance, listBalanceTransactions } from "./balances.routes";
import { toBalanceJson, toLedgerEntryJson } from "./balances.schemas";

export const chargeBalanceHandler: AppRouteHandler<typeof chargeBalance> = async (c) => {
  const { userId, amount } = c.req.valid("json");
  const balance = await c.get("services").balances.charge(c.get("actor"), userId, amount);
  return c.json(toBalanceJson(balance), 200);
};

/**
 * The hottest signed-in read (issue 20): `c.get` rather than `c.var` (which copies every variable into a new
 * object on each access), and the answer made with its constant headers in one go (personalJson).
 */
export const getBalanceHandler: AppRouteHandler<typeof getBalance> = async (c) => {
  const balance = await c.get("services").balances.getBalance(c.get("actor"), c.req.valid("param").userId);
  return personalJson(JSON.stringify(toBalanceJson(balance)), 200) as never;
};

export const listBalanceTransactionsHandler: AppRouteHandler<typeof listBalanceTransactions> = async (c) => {
  const { balances } = c.get("services");
  const page = await balances.listLedger(c.get("actor"), c.req.valid("param").userId, c.req.valid("query"));
  return c.json({ ...page, items: page.items.map(toLedgerEntryJson) }, 200);
};
