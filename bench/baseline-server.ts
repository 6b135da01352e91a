// The ceiling our HTTP figures are compared with: Bun.serve + Hono answering GET / with a tiny JSON.
// Started by bench/run.ts on a free port (PORT); nothing else runs in it.
import { Hono } from "hono";

const app = new Hono().get("/", (c) => c.json({ hello: "world" }));

const server = Bun.serve({ port: Number(process.env.PORT ?? 3001), fetch: app.fetch });
console.log(`baseline listening on ${server.port}`);

const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
