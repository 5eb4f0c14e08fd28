# syntax=docker/dockerfile:1
# model-proxy: the public API over the bundle signature (HTTP 8000, gRPC 8005).
# Build from the repository root: docker build -f deploy/docker/model-proxy.Dockerfile -t bundlegate/model-proxy:0.1.0 .

# ---- build: install the workspace, bundle the app into dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# /manifests: every workspace manifest and the lock, which is what `npm ci --workspace` needs below
RUN npm ci --no-audit --no-fund \
 && npm run build --workspace @bundlegate/model-proxy \
 && mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -not -path './tmp/*' -exec cp --parents {} /manifests/ \; \
 && cp package-lock.json .npmrc /manifests/

# ---- runtime: production dependencies of the app only (native ones such as onnxruntime-node stay outside the bundle)
FROM node:20-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps children, so `docker stop` ends the process at once
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /manifests/ ./
RUN npm ci --omit=dev --workspace @bundlegate/model-proxy --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /src/apps/model-proxy/dist/ apps/model-proxy/dist/
USER node
EXPOSE 8000 8005
# ready = /readyz answers 200; set HEALTH_PORT when the service listens elsewhere than 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8000)+'/readyz').then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/apps/model-proxy/dist/main.js"]
