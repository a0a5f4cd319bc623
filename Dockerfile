# syntax=docker/dockerfile:1
# biovec image: `serve` (default) or any CLI command (`worker`, `migrate`, `model pull`, ...).
#   docker build -t biovec .
#   docker run --rm -v biovec-data:/data biovec keys create --scope admin   # once: prints the token
#   docker run -p 8080:8080 -v biovec-data:/data -v biovec-models:/models biovec
# The image binds 0.0.0.0, and `serve` refuses a non-loopback address until an API key exists.
# GPU: docker build --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 . fetches onnxruntime's CUDA
# provider libraries; the container then also needs the CUDA 12 and cuDNN 9 runtime libraries,
# which node:20-bookworm-slim does not have, plus BIOVEC_DEVICE=cuda and a GPU (--gpus all).

# ---- build: full dependency tree, compile TypeScript, then drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# onnxruntime-node's install script downloads CUDA provider files from NuGet; the CPU runtime
# ships inside the npm package, so the default skips the download. This env var beats the
# `onnxruntime-node-install=skip` in .npmrc, so `--build-arg ONNXRUNTIME_NODE_INSTALL=cuda12` works.
ARG ONNXRUNTIME_NODE_INSTALL=skip

# Dependencies first, in their own layer, so a source change does not reinstall them.
# --ignore-scripts because the root `prepare` script (tsc) needs src/, which is not copied yet;
# `npm rebuild` then runs the dependencies' own install scripts (onnxruntime-node, usearch's
# prebuild check, protobufjs), which does not include the root project's `prepare`.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web app (issue 13): `npm run build` also runs vite, into dist/web, which the runtime stage copies with dist/.
COPY web ./web
# dist/ keeps src/'s layout (dist/cli.js, dist/db/migrate.js, ...); pruning afterwards leaves
# only what `node bin/biovec.js` loads, so the runtime stage copies node_modules as is.
# onnxruntime-node ships macOS and Windows binaries too (~220 MB) that Linux never loads; both
# Linux architectures stay so the same Dockerfile builds for amd64 and arm64.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32

# ---- runtime: no compiler, no dev dependencies, not root ----
FROM node:20-bookworm-slim
WORKDIR /app

# Bind to every interface (the default 127.0.0.1 is unreachable from outside the container);
# keep the catalog/index data and the model caches on volumes, not in the writable layer.
# These names are biovec's own settings (src/config.ts ENV_NAMES); test/compose.test.ts checks that.
ENV BIOVEC_HOST=0.0.0.0 \
    BIOVEC_DATA_DIR=/data \
    HF_HUB_CACHE=/models/hub \
    BIOVEC_CACHE_DIR=/models/biovec

# A fresh named volume copies the ownership of the directory it is mounted on, so creating these
# as `node` here is what lets the non-root process write to /data and /models.
RUN mkdir -p /data /models/hub /models/biovec \
 && chown -R node:node /data /models

# Root-owned and read-only to `node`: the process cannot modify its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# src/db/migrate.ts resolves migrations/ two levels above dist/db/, i.e. /app/migrations.
COPY migrations ./migrations
# "type": "module" makes dist/*.js and bin/biovec.js ESM; without it they do not load.
COPY package.json ./

USER node

VOLUME ["/data", "/models"]
EXPOSE 8080

# Liveness only (/ready also checks the catalog, the index and the outbox lag, which belongs in
# the orchestrator's readiness probe). Slim images have no curl, so node's fetch does it. The
# server listens only once the model is loaded, and the first start downloads it (~500 MB) and
# converts it to ONNX, hence the long start period. `worker` serves no HTTP: override or disable
# this check there (docker-compose.yml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BIOVEC_PORT||8080)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form: node is PID 1 and receives SIGTERM itself; `serve` and `worker` handle it by
# finishing in-flight work and closing the stores.
ENTRYPOINT ["node", "bin/biovec.js"]
CMD ["serve"]
