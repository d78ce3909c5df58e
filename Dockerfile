# voicebot image: one image, three entry points (see docker-compose.yml):
#   node src/main.ts          API + all workers in one process (default CMD)
#   node src/api/main.ts      HTTP API only
#   node src/worker/main.ts   stage workers only (WORKER_STAGES picks stages)
#   node src/simulator/main.ts  OpenAI-compatible simulator
# The server needs no build step: Node 24 runs the TypeScript in src/ directly (type stripping).

ARG NODE_IMAGE=node:24-slim

# ── base: Node + the native tools the service shells out to ──────────────────────────────────────
FROM ${NODE_IMAGE} AS base
# ffmpeg: audio transcoding; Festival with its HTS voice (espeak-ng the fallback): speech for the built-in
# simulator.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg festival festvox-us-slt-hts espeak-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# ── build: everything that needs devDependencies ────────────────────────────────────────────────
# The web page (web/ → dist/web/, bundled with esbuild) is built here and copied into the runtime image.
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ── runtime ─────────────────────────────────────────────────────────────────────────────────────
FROM base AS runtime
# A young generation of 16 MB semi-spaces instead of V8's default (up to 64 MB each on a machine with this
# much RAM): ~75 MB less resident memory per process under load, for slightly more frequent scavenges.
ENV NODE_ENV=production \
    PORT=3000 \
    NODE_OPTIONS=--max-semi-space-size=16
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY src ./src
# The CLI (`node src/cli/main.ts keys create …`) uses the SDK's client from here.
COPY packages/sdk/src/client.ts ./packages/sdk/src/client.ts
# Web page build output (see the build stage):
COPY --from=build /app/dist ./dist

# Non-root: the `node` user (uid 1000) of the official image. DATA_DIR (./data) is the only place the
# service writes to when S3_BUCKET is unset.
RUN mkdir -p /app/data && chown node:node /app/data
USER node

EXPOSE 3000
# Liveness of the API. Processes without an HTTP server (worker) turn this off in docker-compose.yml;
# HEALTHCHECK_URL points it elsewhere.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL || 'http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "src/main.ts"]
