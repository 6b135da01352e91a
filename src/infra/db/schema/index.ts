export * from "./balances";
export * from "./idempotency-keys";
export * from "./users";
