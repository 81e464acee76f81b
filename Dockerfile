# syntax=docker/dockerfile:1
# One image for every deployable of the mesh: the gateway and the eight services run the same
# TypeScript sources through tsx (a production dependency), so one build serves all of them and
# the build argument SERVICE picks what a container runs:
#   docker build --build-arg SERVICE=pool -t streambet/pool:dev .
# (`docker compose build` builds all nine; they share every layer but the last.)
#
# Stages: manifests (package.json files only, for the layer cache) → deps (npm ci, everything, to
# build the web app) → web (vite build) → prod-deps (npm ci --omit=dev) → runtime (non-root).

# The Node.js of .node-version (CI tests on it; gateway/test/deploy.unit.spec.ts keeps them equal).
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Every workspace's package.json at its place, the lockfile and .npmrc (engine-strict), nothing else:
# the npm ci layers below are reused until one of them changes.
FROM base AS manifests
COPY . /src
RUN cd /src \
 && find . -maxdepth 3 -name package.json -not -path './node_modules/*' \
      -exec cp --parents {} /app/ \; \
 && cp package-lock.json .npmrc /app/

FROM base AS deps
COPY --from=manifests /app/ ./
RUN --mount=type=cache,target=/root/.npm npm ci

# The viewer app the gateway serves at / (apps/web/dist) and the admin console (apps/admin/dist).
FROM deps AS web
COPY . .
RUN npm run build:web

# Production dependencies only (tsx, connect, pg, kafkajs, …) and the workspace links.
FROM base AS prod-deps
COPY --from=manifests /app/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM base AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--max-semi-space-size=64
# Code and dependencies stay owned by root: the process (user node, uid 1000) can read, not change them.
COPY --from=prod-deps /app/ ./
COPY tsconfig.json tsconfig.base.json ./
COPY packages/ packages/
COPY services/ services/
COPY gateway/ gateway/
COPY scripts/container-healthcheck.ts scripts/
COPY --from=web /app/apps/web/dist/ apps/web/dist/
# The admin console the gateway serves at /admin/ (apps/admin/dist, built by build:web too).
COPY --from=web /app/apps/admin/dist/ apps/admin/dist/

# The deployable this image runs: gateway, or a folder under services/ (user, bet-engine, pool, …).
ARG SERVICE=gateway
ENV SERVICE=${SERVICE}
RUN set -eu; \
    case "$SERVICE" in \
      gateway) entry=gateway/src/main.ts ;; \
      *) entry="services/$SERVICE/src/main.ts" ;; \
    esac; \
    if [ ! -f "$entry" ]; then \
      echo "SERVICE=$SERVICE has no $entry: use gateway or a folder under services/" >&2; exit 1; \
    fi; \
    ln -s "$entry" main.ts

USER node
# Liveness as Docker sees it (k8s uses its own probes on /health/live and /health/ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "scripts/container-healthcheck.ts"]
# node is PID 1 and handles SIGTERM itself: it drains calls, flushes the outbox, then exits.
CMD ["node", "--import", "tsx", "main.ts"]
