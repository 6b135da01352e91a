# syntax=docker/dockerfile:1

# Kicks as one self-contained executable (bun run build) on a slim Debian: the image holds that file and nothing
# else of the repository; the migrations, PGlite and the /docs assets are inside it.
#   docker build -t kicks .
#   docker run --rm -p 3000:3000 -e DATABASE_URL=... -e REDIS_URL=... -e JWT_SECRET=... kicks
#   docker run --rm -e DATABASE_URL=... -e JWT_SECRET=... kicks migrate
# compose.yaml runs two of them with PostgreSQL and Redis. test/unit/deployment-files.test.ts checks this file.

# The Bun the lockfile and CI use (.ci/run's BUN_VERSION): the binary embeds this runtime.
ARG BUN_VERSION=1.4.5
# Base images by digest, when known: the tag says what it is, the digest what exactly is pulled, so a rebuild
# gets the same bytes and a re-pushed tag cannot slip anything in. `scripts/pin-base-images.sh` asks Docker Hub
# for each tag's current digest and writes it into these two lines (after a Bun upgrade, and monthly for
# Debian's security fixes). Empty: the tag alone is pulled (the repository was prepared where Docker Hub was
# unreachable; run the script once before a production build, or pass --build-arg BUN_IMAGE_DIGEST=sha256:…).
ARG BUN_IMAGE_DIGEST=
ARG DEBIAN_IMAGE_DIGEST=

FROM oven/bun:${BUN_VERSION}${BUN_IMAGE_DIGEST:+@${BUN_IMAGE_DIGEST}} AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer. The build needs no dev tooling. No postinstall: the
# embedded database template it would make needs the sources; `bun run build` makes it (and puts it in the binary).
COPY package.json bun.lock bunfig.toml ./
# patches/ holds fixes to dependencies that bun install applies (see patches/README.md)
COPY patches ./patches
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# Read at build time only: the migrations macro inlines drizzle/ into the binary.
COPY drizzle ./drizzle
RUN bun run build

FROM debian:bookworm-slim${DEBIAN_IMAGE_DIGEST:+@${DEBIAN_IMAGE_DIGEST}} AS runtime
RUN groupadd --system --gid 10001 kicks \
 && useradd --system --uid 10001 --gid kicks --home-dir /app --no-create-home --shell /usr/sbin/nologin kicks
WORKDIR /app
COPY --from=build /src/dist/kicks /app/kicks
# Only used without DATABASE_URL (embedded PGlite and its generated JWT secret): mount a volume here.
RUN mkdir -p /app/data && chown kicks:kicks /app/data
ENV PORT=3000 \
    DATA_DIR=/app/data
# The runtime's own settings (src/infra/runtime-env.ts): JavaScriptCore sizes its heap by the RAM it sees, the
# host's in a container; 1 GiB keeps the heap near its live size (peak RSS ~30 MB lower under load). Set it to
# the container's memory limit if that is larger.
ENV BUN_JSC_forceRAMSize=1073741824
USER kicks
EXPOSE 3000
# No curl in the slim image: BUN_BE_BUN=1 makes the binary act as the bun CLI for one fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD BUN_BE_BUN=1 /app/kicks -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM drains in-flight requests for up to 8 s, inside `docker stop`'s default 10 s.
STOPSIGNAL SIGTERM
# `kicks` serves; `kicks migrate` and `kicks --version` are the other commands.
ENTRYPOINT ["/app/kicks"]
