/** Time as a port, so expiry rules can be tested without sleeping; waiting goes through it too. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date(), sleep: (ms) => Bun.sleep(ms) };
