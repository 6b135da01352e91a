import { createRouter } from "../lib/create-router";
import { chargeBalanceHandler, getBalanceHandler, listBalanceTransactionsHandler } from "./balances.handlers";
import { chargeBalance, getBalance, listBalanceTransactions } from "./balances.routes";

export const balancesRouter = createRouter()
  .openapi(chargeBalance, chargeBalanceHandler)
  .openapi(getBalance, getBalanceHandler)
  .openapi(listBalanceTransactions, listBalanceTransactionsHandler);
