// A payment gateway that behaves like a real one on a bad day, for the crash hammer: it remembers every charge
// and refund it accepted (deduplicated by Idempotency-Key, as gateways do), declines some charges, holds some
// in transit (the charge lands after our timeout, and lookups answer 404 until it does), answers some only
// after the client gave up, and fails some refunds — some after having made them. A seeded `random` decides.

export interface GatewayCharge {
  paymentId: string;
  orderId: string;
  amount: number;
  status: "APPROVED" | "DECLINED";
  transactionId?: string;
}

export interface GatewayRefund {
  refundId: string;
  paymentId: string;
  amount: number;
}

export interface HostileGatewayOptions {
  random: () => number;
  /** Share of charges declined. */
  declineRate?: number;
  /** Share of charges that land only after `transitMs` (lookups say 404 meanwhile). */
  inTransitRate?: number;
  /** Share of charges made at once but answered only after `transitMs`. */
  lateAnswerRate?: number;
  /** Share of refund requests answered 500 without being made, and made but answered 500. */
  refundFailRate?: number;
  refundLostAnswerRate?: number;
  transitMs?: number;
}

export function startHostileGateway(options: HostileGatewayOptions) {
  const {
    random,
    declineRate = 0.3,
    inTransitRate = 0.1,
    lateAnswerRate = 0.1,
    refundFailRate = 0.1,
    refundLostAnswerRate = 0.05,
    transitMs = 1500,
  } = options;
  const charges = new Map<string, GatewayCharge>();
  /** Charges on their way in: a second POST with the same key waits for the first one's outcome. */
  const landing = new Map<string, Promise<GatewayCharge>>();
  const refunds = new Map<string, GatewayRefund>();
  const counts = { chargePosts: 0, lookups: 0, refundPosts: 0, inTransit: 0, lateAnswers: 0, refundErrors: 0 };

  const decide = (body: { paymentId: string; orderId: string; amount: number }): GatewayCharge =>
    random() < declineRate
      ? { ...body, status: "DECLINED" }
      : { ...body, status: "APPROVED", transactionId: `gw-${body.paymentId}` };
  const answer = (charge: GatewayCharge) =>
    Response.json(
      charge.status === "APPROVED"
        ? { status: "APPROVED", transactionId: charge.transactionId }
        : { status: "DECLINED", reason: "CARD_LIMIT" },
    );

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "POST" && url.pathname === "/payments") {
        counts.chargePosts++;
        const body = (await request.json()) as { paymentId: string; orderId: string; amount: number };
        const key = request.headers.get("Idempotency-Key") ?? body.paymentId;
        const known = charges.get(key) ?? (await landing.get(key));
        if (known) return answer(known);
        const roll = random();
        if (roll < inTransitRate) {
          counts.inTransit++;
          const outcome = decide(body);
          const arrival = Bun.sleep(transitMs).then(() => {
            charges.set(key, outcome);
            landing.delete(key);
            return outcome;
          });
          landing.set(key, arrival);
          return answer(await arrival);
        }
        const charge = decide(body);
        charges.set(key, charge);
        if (roll < inTransitRate + lateAnswerRate) {
          counts.lateAnswers++;
          await Bun.sleep(transitMs);
        }
        return answer(charge);
      }
      if (request.method === "GET" && url.pathname.startsWith("/payments/")) {
        counts.lookups++;
        const charge = charges.get(url.pathname.slice("/payments/".length));
        if (!charge) return new Response("no such payment", { status: 404 });
        return answer(charge);
      }
      if (request.method === "POST" && url.pathname === "/refunds") {
        counts.refundPosts++;
        const body = (await request.json()) as GatewayRefund;
        const key = request.headers.get("Idempotency-Key") ?? body.refundId;
        if (refunds.has(key)) return Response.json({ status: "REFUNDED" });
        const roll = random();
        if (roll < refundFailRate) {
          counts.refundErrors++;
          return new Response("refunds are down", { status: 500 });
        }
        refunds.set(key, { refundId: body.refundId, paymentId: body.paymentId, amount: body.amount });
        if (roll < refundFailRate + refundLostAnswerRate) {
          counts.refundErrors++;
          return new Response("made it, then lost the answer", { status: 500 });
        }
        return Response.json({ status: "REFUNDED" });
      }
      return new Response("not found", { status: 404 });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    charges,
    refunds,
    counts,
    /** Charges still on their way in (none once the traffic has settled). */
    get inTransit() {
      return landing.size;
    },
    stop: () => server.stop(true),
  };
}

export type HostileGateway = ReturnType<typeof startHostileGateway>;
