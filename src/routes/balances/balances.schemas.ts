import { z } from "@hono/zod-openapi";
import { MAX_CHARGE } from "../../domain/balances/balance-service";
import type { Balance, LedgerEntry } from "../../domain/balances/ports";
import { Krw, pageOf, Timestamp, Uuid } from "../lib/schemas";

export const ChargeSchema = z
  .strictObject({
    userId: Uuid,
    amount: z
      .number()
      .int()
      .min(1)
      .max(MAX_CHARGE)
      .openapi({ example: 50000, description: `KRW to add, 1 to ${MAX_CHARGE}` }),
  })
  .openapi("Charge");

export const BalanceSchema = z
  .object({
    userId: z.uuid(),
    balance: Krw.openapi({
      description:
        "KRW available. A CHARGE never takes it above 1,000,000,000; a REFUND or REVERSAL (money given back) may",
    }),
    version: z.number().int().openapi({ description: "Increments with every change", example: 3 }),
    updatedAt: Timestamp,
  })
  .openapi("Balance");

export const LedgerEntrySchema = z
  .object({
    id: z.uuid(),
    type: z.enum(["CHARGE", "PAYMENT", "REFUND", "REVERSAL"]).openapi({
      description:
        "CHARGE: money put in. PAYMENT: an order's payment debited. REFUND: a refund of a paid order credited. " +
        "REVERSAL: the debit of a payment that failed (declined, or never received by the gateway) given back: " +
        "the charge never happened, so it is no refund; it references that payment.",
      example: "PAYMENT",
    }),
    amount: Krw.openapi({ description: "Signed: credits positive, debits negative" }),
    balanceAfter: Krw,
    referenceId: z.string().nullable().openapi({
      description: "The payment id (PAYMENT, REVERSAL) or refund id (REFUND); null for charges",
    }),
    createdAt: Timestamp,
  })
  .openapi("LedgerEntry");

export const LedgerPageSchema = pageOf(LedgerEntrySchema, "LedgerPage");

export const toBalanceJson = (b: Balance): z.infer<typeof BalanceSchema> => ({
  userId: b.userId,
  balance: b.balance,
  version: b.version,
  updatedAt: b.updatedAt.toISOString(),
});

export const toLedgerEntryJson = (e: LedgerEntry): z.infer<typeof LedgerEntrySchema> => ({
  id: e.id,
  type: e.type,
  amount: e.amount,
  balanceAfter: e.balanceAfter,
  referenceId: e.referenceId,
  createdAt: e.createdAt.toISOString(),
});
