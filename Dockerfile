# syntax=docker/dockerfile:1

# Kicks as one self-contained executable (bun build --compile) on a slim Debian.
#   docker build -t kicks .
#   docker run --rm -p 3000:3000 -e DATABASE_URL=... -e REDIS_URL=... -e JWT_SECRET=... kicks
# compose.yaml runs it with PostgreSQL and Redis.

# Same minor as the lockfile and CI were made with; pin a patch (e.g. 1.4.5) for byte-identical builds.
ARG BUN_VERSION=1.4

FROM oven/bun:${BUN_VERSION} AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile
COPY tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
# Everything the server imports, the Scalar script of /docs included, ends up inside the binary.
RUN bun build --compile --minify --sourcemap src/index.ts src/workers/outbox-relay/worker.ts --outfile /out/kicks

FROM debian:bookworm-slim AS runtime
RUN groupadd --system --gid 10001 kicks \
 && useradd --system --uid 10001 --gid kicks --home-dir /app --no-create-home --shell /usr/sbin/nologin kicks
# MIGRATIONS_DIR defaults to ./drizzle and DATA_DIR to ./data, both relative to this directory.
WORKDIR /app
COPY --from=build /out/kicks /app/kicks
COPY --from=build /src/drizzle /app/drizzle
# Only used without DATABASE_URL (embedded PGlite and its generated JWT secret): mount a volume here.
RUN mkdir -p /app/data && chown kicks:kicks /app/data
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
USER kicks
EXPOSE 3000
# No curl in the slim image: BUN_BE_BUN=1 makes the compiled binary act as the bun CLI for one fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD BUN_BE_BUN=1 /app/kicks -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM drains in-flight requests for up to 8 s, inside `docker stop`'s default 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/kicks"]
