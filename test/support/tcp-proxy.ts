import type { Socket, TCPSocketListener } from "bun";

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<undefined>;
  pending: Uint8Array[];
  /** The connection sent `marker` (a CLIENT SETNAME, a SUBSCRIBE): the connections `cut` and `stall` act on. */
  marked: boolean;
}

/**
 * A TCP proxy in front of a server (Redis) that a test can break for some connections only: `cut` closes those
 * whose bytes contained `marker` and refuses them until `restore`; `stall` keeps them open but forwards nothing
 * (a connection that silently stopped). Other connections pass through untouched.
 */
export function tcpProxy(target: { hostname: string; port: number }, marker: string) {
  const pairs = new Set<Pair>();
  let mode: "pass" | "cut" | "stall" = "pass";
  let gets = 0;
  const server: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        const pair: Pair = { client, pending: [], marked: false };
        client.data = pair;
        pairs.add(pair);
        void Bun.connect({
          hostname: target.hostname,
          port: target.port,
          socket: {
            data(_upstream, bytes) {
              if (!(pair.marked && mode === "stall")) pair.client.write(bytes);
            },
            close() {
              pair.client.end();
            },
            error() {},
          },
        }).then(
          (upstream) => {
            pair.upstream = upstream;
            for (const bytes of pair.pending) upstream.write(bytes);
            pair.pending = [];
          },
          () => client.end(),
        );
      },
      data(client, bytes) {
        const pair = client.data;
        const text = Buffer.from(bytes).toString("latin1");
        if (!pair.marked && text.includes(marker)) pair.marked = true;
        gets += text.match(/\$3\r\nget\r\n/gi)?.length ?? 0;
        if (pair.marked && mode === "cut") {
          client.end();
          return;
        }
        if (pair.marked && mode === "stall") return;
        if (pair.upstream) pair.upstream.write(bytes);
        else pair.pending.push(new Uint8Array(bytes));
      },
      close(client) {
        client.data.upstream?.end();
        pairs.delete(client.data);
      },
      error() {},
    },
  });
  return {
    port: server.port,
    /** Redis GET commands sent through the proxy so far. */
    gets: () => gets,
    /** Closes the marked connections, and every new one that turns out marked, until `restore`. */
    cut() {
      mode = "cut";
      for (const pair of pairs) if (pair.marked) pair.client.end();
    },
    /** The marked connections stay open and go silent, both ways. */
    stall() {
      mode = "stall";
    },
    restore() {
      mode = "pass";
    },
    stop() {
      for (const pair of pairs) pair.client.end();
      server.stop(true);
    },
  };
}
