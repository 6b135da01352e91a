// A payment gateway for tests: a real HTTP server speaking the contract's protocol, told per test how to
// answer (approve, decline, hang, fail with 500, send garbage), and recording what it was sent.

export type ChargeBehaviour = "approve" | "decline" | "hang" | "error" | "garbage" | "in-transit";
/** `held`: answers from what the gateway holds (404 for a charge it has not received yet). */
export type LookupBehaviour = "approved" | "declined" | "pending" | "unknown-payment" | "error" | "held";

/** A charge the gateway received and approved or declined. */
export interface HeldCharge {
  paymentId: string;
  orderId: string;
  amount: number;
  status: "APPROVED" | "DECLINED";
  transactionId?: string;
}

export interface GatewayRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  body: any;
}

export interface TestGateway {
  url: string;
  requests: GatewayRequest[];
  charge: ChargeBehaviour;
  lookup: LookupBehaviour;
  /** Refunds answered 500 this many more times, then REFUNDED. */
  refundFailures: number;
  /**
   * `in-transit`: how long a charge POST is on its way before the gateway receives it (records and approves
   * it); until then lookups (`held`) answer 404, as a real gateway would for bytes still in a socket buffer.
   */
  transitMs: number;
  /** Charges received, by payment id (idempotent per payment id, as the protocol says). */
  held: Map<string, HeldCharge>;
  /** Approved charges per order: more than one is a double charge. */
  approvedFor(orderId: string): HeldCharge[];
  /** Resolves once every charge now in transit has been received. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function startGateway(): TestGateway {
  const hanging: (() => void)[] = [];
  const inTransit = new Set<Promise<unknown>>();
  const gateway: TestGateway = {
    url: "",
    requests: [],
    charge: "approve",
    lookup: "approved",
    refundFailures: 0,
    transitMs: 500,
    held: new Map(),
    approvedFor: (orderId) =>
      [...gateway.held.values()].filter((c) => c.orderId === orderId && c.status === "APPROVED"),
    async settled() {
      while (inTransit.size > 0) await Promise.all(inTransit);
    },
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const body: any = req.method === "POST" ? await req.json() : undefined;
      gateway.requests.push({
        method: req.method,
        path: url.pathname,
        idempotencyKey: req.headers.get("Idempotency-Key"),
        body,
      });
      if (req.method === "POST" && url.pathname === "/payments") {
        const receive = (status: HeldCharge["status"]) => {
          const known = gateway.held.get(body.paymentId);
          if (known) return known;
          const charge: HeldCharge = { paymentId: body.paymentId, orderId: body.orderId, amount: body.amount, status };
          if (status === "APPROVED") charge.transactionId = `tx-${body.paymentId}`;
          gateway.held.set(body.paymentId, charge);
          return charge;
        };
        switch (gateway.charge) {
          case "approve":
            return Response.json(receive("APPROVED"));
          case "decline":
            receive("DECLINED");
            return Response.json({ status: "DECLINED", reason: "CARD_LIMIT" });
          case "in-transit": {
            // Received (and approved) only after transitMs, whether or not the client still waits.
            const arrival = Bun.sleep(gateway.transitMs).then(() => receive("APPROVED"));
            inTransit.add(arrival);
            const charge = await arrival;
            inTransit.delete(arrival);
            return Response.json(charge);
          }
          case "hang":
            // Answers only when the test ends: long after the client gave up.
            await new Promise<void>((resolve) => hanging.push(resolve));
            return Response.json({ status: "APPROVED", transactionId: "too-late" });
          case "error":
            return new Response("upstream exploded", { status: 500 });
          case "garbage":
            return new Response("<html>not json</html>", { status: 200 });
        }
      }
      if (req.method === "GET" && url.pathname.startsWith("/payments/")) {
        const paymentId = url.pathname.slice("/payments/".length);
        switch (gateway.lookup) {
          case "approved":
            return Response.json({ status: "APPROVED", transactionId: `tx-${paymentId}` });
          case "declined":
            return Response.json({ status: "DECLINED", reason: "CARD_LIMIT" });
          case "pending":
            return Response.json({ status: "PENDING" });
          case "unknown-payment":
            return new Response("no such payment", { status: 404 });
          case "error":
            return new Response("down", { status: 503 });
          case "held": {
            const known = gateway.held.get(paymentId);
            return known ? Response.json(known) : new Response("no such payment", { status: 404 });
          }
        }
      }
      if (req.method === "POST" && url.pathname === "/refunds") {
        if (gateway.refundFailures > 0) {
          gateway.refundFailures--;
          return new Response("refunds are down", { status: 500 });
        }
        return Response.json({ status: "REFUNDED" });
      }
      return new Response("not found", { status: 404 });
    },
  });
  gateway.url = `http://127.0.0.1:${server.port}`;
  return gateway;
}

/** A webhook receiver for alerts. */
export function startAlertSink() {
  const alerts: any[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      alerts.push(await req.json());
      return new Response(null, { status: 204 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, alerts, stop: () => server.stop(true) };
}
