import type { AppRouteHandler } from "../lib/app-env";
import type { chargeBalance, getBalance, listBalanceTransactions } from "./balances.routes";
import { toBalanceJson, toLedgerEntryJson } from "./balances.schemas";

export const chargeBalanceHandler: AppRouteHandler<typeof chargeBalance> = async (c) => {
  const { userId, amount } = c.req.valid("json");
  const balance = await c.var.services.balances.charge(c.var.actor, userId, amount);
  return c.json(toBalanceJson(balance), 200);
};

export const getBalanceHandler: AppRouteHandler<typeof getBalance> = async (c) => {
  const balance = await c.var.services.balances.getBalance(c.var.actor, c.req.valid("param").userId);
  return c.json(toBalanceJson(balance), 200);
};

export const listBalanceTransactionsHandler: AppRouteHandler<typeof listBalanceTransactions> = async (c) => {
  const page = await c.var.services.balances.listLedger(c.var.actor, c.req.valid("param").userId, c.req.valid("query"));
  return c.json({ ...page, items: page.items.map(toLedgerEntryJson) }, 200);
};
