export * from "./balances";
export * from "./idempotency-keys";
export * from "./outbox";
export * from "./products";
export * from "./users";
