import type { BalanceService } from "../domain/balances/balance-service";
import type { CatalogueService } from "../domain/catalogue/catalogue-service";
import type { StockService } from "../domain/catalogue/stock-service";
import type { CouponIssue } from "../domain/coupons/coupon-issue";
import type { CouponStateReconciliation } from "../domain/coupons/coupon-reconciliation";
import type { CouponRedemption } from "../domain/coupons/coupon-redemption";
import type { CouponService } from "../domain/coupons/coupon-service";
import type { IdempotencyService } from "../domain/idempotency/idempotency-service";
import type { OrderService } from "../domain/orders/order-service";
import type { OutboxService } from "../domain/outbox/outbox-service";
import type { PaymentReconciliation } from "../domain/payments/payment-reconciliation";
import type { PaymentService } from "../domain/payments/payment-service";
import type { RefundService } from "../domain/refunds/refund-service";
import type { ReturnService } from "../domain/returns/return-service";
import type { PopularProducts } from "../domain/sales/popular-products";
import type { SalesRecorder } from "../domain/sales/sales-recorder";
import type { SalesStats } from "../domain/sales/sales-stats";
import type { Cache, Counters, LockManager, VersionedCache } from "../domain/shared/ports";
import type { UserService } from "../domain/users/user-service";
import type { JwtAccessTokens } from "../infra/auth/access-tokens";
import type { ClientAddresses } from "../infra/client-addresses";
import type { HealthCheck } from "../infra/health";
import type { OutboxMetrics } from "../infra/metrics/outbox";
import type { Metrics } from "../infra/metrics/registry";
import type { RedisNearCache } from "../infra/redis/redis-near-cache";

/**
 * What the routes and workers may use, context by context: the container builds exactly this (src/container.ts),
 * and the routes see it through `AppEnv` (src/routes/lib/app-env.ts), never the container's own type.
 */
export interface Services {
  // Accounts
  users: UserService;
  tokens: JwtAccessTokens;
  clientAddresses: ClientAddresses;
  balances: BalanceService;
  idempotency: IdempotencyService;
  // Catalogue
  catalogue: CatalogueService;
  stock: StockService;
  /** The product and model pages' near cache (with Redis): its channel state, for /metrics and tests. */
  nearCache: RedisNearCache | undefined;
  /** How public reads may be kept by browsers and CDNs (src/routes/lib/public-read.ts). */
  publicReads: { cacheControl: string };
  // Coupons
  coupons: CouponService;
  couponIssue: CouponIssue;
  couponRedemption: CouponRedemption;
  couponReconciliation: CouponStateReconciliation;
  // Orders, payments, refunds, returns
  orders: OrderService;
  payments: PaymentService;
  paymentReconciliation: PaymentReconciliation;
  refunds: RefundService;
  returns: ReturnService;
  // Sales
  salesRecorder: SalesRecorder;
  popularProducts: PopularProducts;
  salesStats: SalesStats;
  // Outbox
  outbox: OutboxService;
  outboxMetrics: OutboxMetrics;
  // Operations
  cache: Cache & VersionedCache;
  locks: LockManager;
  counters: Counters;
  metrics: Metrics;
  health: HealthCheck;
}
