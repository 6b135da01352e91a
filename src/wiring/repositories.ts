import { DrizzleBalanceRepository } from "../infra/db/repositories/balance-repository";
import { DrizzleCouponRepository } from "../infra/db/repositories/coupon-repository";
import { DrizzleIdempotencyRepository } from "../infra/db/repositories/idempotency-repository";
import { DrizzleOrderRepository } from "../infra/db/repositories/order-repository";
import { DrizzleOutboxEventRepository } from "../infra/db/repositories/outbox-repository";
import { DrizzleReconciliationReader } from "../infra/db/repositories/payment-reconciliation-reader";
import { DrizzlePaymentRepository, type PaymentRepositoryOptions } from "../infra/db/repositories/payment-repository";
import { DrizzleProductRepository } from "../infra/db/repositories/product-repository";
import { DrizzleRefundRepository } from "../infra/db/repositories/refund-repository";
import { DrizzleReturnRepository } from "../infra/db/repositories/return-repository";
import { DrizzleSalesRepository } from "../infra/db/repositories/sales-repository";
import { DrizzleUserCouponRepository } from "../infra/db/repositories/user-coupon-repository";
import { DrizzleUserRepository } from "../infra/db/repositories/user-repository";
import type { Transactions } from "../infra/db/transactions";

/**
 * Every table's repository, built once per container: a context that reads another's table (payments read
 * orders, coupons read users) shares the owner's instance instead of building its own.
 */
export function buildRepositories(
  transactions: Transactions,
  options: PaymentRepositoryOptions & {
    orderGroupSize?: number;
    onOrderGroupFailure?: (error: unknown, size: number) => void;
  } = {},
) {
  return {
    users: new DrizzleUserRepository(transactions),
    balances: new DrizzleBalanceRepository(transactions),
    idempotency: new DrizzleIdempotencyRepository(transactions),
    products: new DrizzleProductRepository(transactions),
    coupons: new DrizzleCouponRepository(transactions),
    userCoupons: new DrizzleUserCouponRepository(transactions),
    orders: new DrizzleOrderRepository(transactions, options.orderGroupSize, options.onOrderGroupFailure),
    payments: new DrizzlePaymentRepository(transactions, options),
    paymentReconciliation: new DrizzleReconciliationReader(transactions),
    refunds: new DrizzleRefundRepository(transactions),
    returns: new DrizzleReturnRepository(transactions),
    sales: new DrizzleSalesRepository(transactions),
    outboxEvents: new DrizzleOutboxEventRepository(transactions),
  };
}

export type Repositories = ReturnType<typeof buildRepositories>;
