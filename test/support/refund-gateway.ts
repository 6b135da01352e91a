// A payment gateway whose refunds are slow, failing or never answered, for tests of refund tries racing
// each other and processes dying mid-try. A real HTTP server speaking the contract's protocol (charges are
// approved, lookups PENDING); every refund call is recorded with when it arrived and when it was answered.

export interface RefundCall {
  refundId: string;
  paymentId: string;
  amount: number;
  idempotencyKey: string | null;
  startedAt: number;
  /** Undefined while the call is still being answered (or hangs). */
  endedAt?: number;
}

export interface RefundGateway {
  url: string;
  calls: RefundCall[];
  /** How long each refund call takes before it is answered. */
  delayMs: number;
  /** "refund": 200 REFUNDED; "fail": 500; "hang": never answers (until stop). */
  answer: "refund" | "fail" | "hang";
  /**
   * Resolves with the next refund call that arrives (and matches: on the shared database another file's
   * leftover refund may be tried by a job of the test's server first).
   */
  nextCall(match?: (call: RefundCall) => boolean): Promise<RefundCall>;
  stop(): Promise<void>;
}

export function startRefundGateway(): RefundGateway {
  const hanging: (() => void)[] = [];
  let waiting: { match: (call: RefundCall) => boolean; resolve: (call: RefundCall) => void }[] = [];
  const gateway: RefundGateway = {
    url: "",
    calls: [],
    delayMs: 0,
    answer: "refund",
    nextCall: (match = () => true) => new Promise((resolve) => waiting.push({ match, resolve })),
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/payments") {
        const body = (await req.json()) as { paymentId: string };
        return Response.json({ status: "APPROVED", transactionId: `tx-${body.paymentId}` });
      }
      // Charges here are approved at once; a lookup (a recovery job meeting another test's stuck payment on the
      // shared database) changes nothing.
      if (req.method === "GET" && url.pathname.startsWith("/payments/")) return Response.json({ status: "PENDING" });
      if (req.method === "POST" && url.pathname === "/refunds") {
        const body = (await req.json()) as { refundId: string; paymentId: string; amount: number };
        const call: RefundCall = {
          refundId: body.refundId,
          paymentId: body.paymentId,
          amount: body.amount,
          idempotencyKey: req.headers.get("Idempotency-Key"),
          startedAt: Date.now(),
        };
        gateway.calls.push(call);
        const notified = waiting.filter((waiter) => waiter.match(call));
        waiting = waiting.filter((waiter) => !notified.includes(waiter));
        for (const waiter of notified) waiter.resolve(call);
        const answer = gateway.answer;
        if (answer === "hang") await new Promise<void>((resolve) => hanging.push(resolve));
        else if (gateway.delayMs > 0) await Bun.sleep(gateway.delayMs);
        call.endedAt = Date.now();
        return answer === "fail"
          ? new Response("refunds are down", { status: 500 })
          : Response.json({ status: "REFUNDED" });
      }
      return new Response("not found", { status: 404 });
    },
  });
  gateway.url = `http://127.0.0.1:${server.port}`;
  return gateway;
}
