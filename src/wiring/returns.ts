import type { StockService } from "../domain/catalogue/stock-service";
import { ReturnService } from "../domain/returns/return-service";
import type { Infrastructure } from "./infrastructure";

/** Returns: units of orders refunded after shipping, awaited until the seller records what came back. */
export function wireReturns(infra: Infrastructure, uses: { stock: StockService }) {
  const { repositories, unitOfWork, newId } = infra;
  return {
    returns: new ReturnService({
      returns: repositories.returns,
      stock: uses.stock,
      unitOfWork,
      newId,
    }),
  };
}
