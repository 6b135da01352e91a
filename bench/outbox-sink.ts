// The data platform stand-in of the outbox bench: a Bun.serve in a process of its own (started by bench/outbox.ts
// on a free port, PORT), so the relay's HTTP is measured against a real socket and the sink does not share the
// relay's thread. It counts what arrives and, for events whose payload carries `writtenAt` (ms since the epoch,
// taken just before the writing transaction), how long each took from there to here.
let seen = new Set<string>();
let received = 0;
let firstAt = 0;
let lastAt = 0;
let lags: number[] = [];

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/events") {
      const event = (await request.json()) as { id: string; payload?: { writtenAt?: unknown } };
      const now = Date.now();
      received++;
      seen.add(event.id);
      firstAt ||= now;
      lastAt = now;
      if (typeof event.payload?.writtenAt === "number") lags.push(now - event.payload.writtenAt);
      return new Response(null, { status: 204 });
    }
    if (request.method === "POST" && pathname === "/reset") {
      seen = new Set();
      received = 0;
      firstAt = 0;
      lastAt = 0;
      lags = [];
      return new Response(null, { status: 204 });
    }
    if (pathname === "/stats") {
      const sorted = [...lags].sort((a, b) => a - b);
      return Response.json({
        received,
        unique: seen.size,
        firstAt,
        lastAt,
        lagMs: {
          count: sorted.length,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? 0,
        },
      });
    }
    if (pathname === "/healthz") return new Response("ok");
    return new Response("not found", { status: 404 });
  },
});
console.log(`outbox sink listening on ${server.port}`);

const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
