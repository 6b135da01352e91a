import type { Server } from "bun";

/** One POST the sink received, as the data platform (or the alert webhook) would see it. */
export interface Receipt {
  body: any;
  headers: Headers;
  /** Local port of the sender's socket: the same port twice means the connection was reused. */
  remotePort: number;
  at: number;
  /** 1 for the first POST of this event id, 2 for its first retry, … */
  nth: number;
}

/** What the sink answers to a receipt (its status code); may wait, to hold a delivery in flight. */
export type SinkResponder = (receipt: Receipt) => number | Promise<number>;

/**
 * A real HTTP server on a free local port standing in for the data platform or the alert webhook. It keeps
 * every request, and counts how many of one id it is handling at the same moment (`overlaps`).
 */
export function startSink(respond: SinkResponder = () => 200) {
  const receipts: Receipt[] = [];
  const tries = new Map<string, number>();
  const inFlight = new Map<string, number>();
  let overlaps = 0;
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request, srv) {
      const body = (await request.json()) as any;
      const key = String(body.id ?? body.details?.eventId ?? "");
      const nth = (tries.get(key) ?? 0) + 1;
      tries.set(key, nth);
      const receipt: Receipt = {
        body,
        headers: request.headers,
        remotePort: srv.requestIP(request)?.port ?? 0,
        at: Date.now(),
        nth,
      };
      receipts.push(receipt);
      const concurrent = (inFlight.get(key) ?? 0) + 1;
      if (concurrent > 1) overlaps++;
      inFlight.set(key, concurrent);
      try {
        const status = await respond(receipt);
        return new Response(status < 300 ? "ok" : "the sink says no", { status });
      } finally {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/events`,
    receipts,
    /** Receipts of one event id, in arrival order. */
    of: (id: string) => receipts.filter((r) => r.body.id === id),
    get overlaps() {
      return overlaps;
    },
    stop: () => server.stop(true),
  };
}

export type Sink = ReturnType<typeof startSink>;

/** A sink that holds every POST of one aggregate in flight until `release()`; from then on it answers at once. */
export function startHoldingSink(aggregateId: string) {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sink = startSink(async (receipt) => {
    if (receipt.body.aggregateId === aggregateId) await released;
    return 200;
  });
  return {
    url: sink.url,
    receipts: sink.receipts,
    of: sink.of,
    release,
    stop: () => {
      release();
      sink.stop();
    },
  };
}
