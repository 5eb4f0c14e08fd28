# syntax=docker/dockerfile:1
# gateway: routes gRPC (and REST) calls by their model-id metadata to the serving service of the model (gRPC 8080, REST/admin 8081).
# Build from the repository root: docker build -f deploy/docker/gateway.Dockerfile -t bundlegate/gateway:0.1.0 .

# ---- build: install the workspace, bundle the app into dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# /manifests: every workspace manifest and the lock, which is what `npm ci --workspace` needs below
RUN npm ci --no-audit --no-fund \
 && npm run build --workspace @bundlegate/gateway \
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
RUN npm ci --omit=dev --workspace @bundlegate/gateway --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /src/apps/gateway/dist/ apps/gateway/dist/
USER node
EXPOSE 8080 8081
# ready = /readyz answers 200; set HEALTH_PORT when the service listens elsewhere than 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)+'/readyz').then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/apps/gateway/dist/main.js"]
