/**
 * Time as a port, so expiry rules can be tested without sleeping; waiting goes through it too. The domain reads
 * the time only through this (test/unit/domain-time.test.ts holds it to that); the system's clock is an adapter,
 * src/infra/system-clock.ts.
 */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}
