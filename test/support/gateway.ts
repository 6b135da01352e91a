// A payment gateway for tests: a real HTTP server speaking the contract's protocol, told per test how to
// answer (approve, decline, hang, fail with 500, send garbage), and recording what it was sent.

export type ChargeBehaviour = "approve" | "decline" | "hang" | "error" | "garbage";
export type LookupBehaviour = "approved" | "declined" | "pending" | "unknown-payment" | "error";

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
  stop(): Promise<void>;
}

export function startGateway(): TestGateway {
  const hanging: (() => void)[] = [];
  const gateway: TestGateway = {
    url: "",
    requests: [],
    charge: "approve",
    lookup: "approved",
    refundFailures: 0,
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
        switch (gateway.charge) {
          case "approve":
            return Response.json({ status: "APPROVED", transactionId: `tx-${body.paymentId}` });
          case "decline":
            return Response.json({ status: "DECLINED", reason: "CARD_LIMIT" });
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
