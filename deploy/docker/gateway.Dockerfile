# syntax=docker/dockerfile:1
# gateway: routes gRPC (and REST) calls by their model-id metadata to the serving service of the model (gRPC 8080, REST/admin 8081).
# Build from the repository root: docker build -f deploy/docker/gateway.Dockerfile -t bundlegate/gateway:0.1.0 .

# ---- build: install the workspace, bundle the app into dist/main.js, install its production dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# the same first steps in every image's Dockerfile: building several images installs the workspace once
RUN npm ci --no-audit --no-fund
# /prod: every workspace manifest and the lock, which is what `npm ci --workspace` needs below
RUN mkdir /prod \
 && find . -name package.json -not -path '*/node_modules/*' -not -path './tmp/*' -exec cp --parents {} /prod/ \; \
 && cp package-lock.json .npmrc /prod/
RUN npm run build --workspace @bundlegate/gateway
# production dependencies of this app only, from the npm cache the install above filled
RUN cd /prod \
 && npm ci --omit=dev --workspace @bundlegate/gateway --prefer-offline --no-audit --no-fund

# ---- runtime: the bundled app and its production dependencies (native ones such as onnxruntime-node stay outside the bundle)
FROM node:20-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps children, so `docker stop` ends the process at once
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /prod/ ./
COPY --from=build /src/apps/gateway/dist/ apps/gateway/dist/
USER node
EXPOSE 8080 8081
# ready = /readyz answers 200; set HEALTH_PORT when the service listens elsewhere than 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)+'/readyz').then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# node flags from apps/gateway/package.json "bundlegate.nodeFlags": a 4 MB young generation keeps scavenges
# short (about 0.5 ms instead of 4-5 ms with the default 16 MB here), which cuts the tail latency; a
# higher old-generation limit (--heap-growing-percent=300) stops the forwarded 600 KB buffers, dead but
# not yet swept, from starting a full collection every few calls
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=4", "--heap-growing-percent=300", "/app/apps/gateway/dist/main.js"]
