export * from "./balances";
export * from "./coupons";
export * from "./idempotency-keys";
export * from "./orders";
export * from "./outbox";
export * from "./payments";
export * from "./products";
export * from "./users";
