# syntax=docker/dockerfile:1
# onnx-serving: OVMS-compatible model server on ONNX Runtime (gRPC 9000, REST 8001).
# Build from the repository root: docker build -f deploy/docker/onnx-serving.Dockerfile -t bundlegate/onnx-serving:0.1.0 .

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
RUN npm run build --workspace @bundlegate/onnx-serving
# production dependencies of this app only, from the npm cache the install above filled
RUN cd /prod \
 && npm ci --omit=dev --workspace @bundlegate/onnx-serving --prefer-offline --no-audit --no-fund

# ---- runtime: the bundled app and its production dependencies (native ones such as onnxruntime-node stay outside the bundle)
FROM node:20-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps children, so `docker stop` ends the process at once
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /prod/ ./
COPY --from=build /src/apps/onnx-serving/dist/ apps/onnx-serving/dist/
# a named volume mounted here takes this ownership, so the non-root user can write it
RUN mkdir -p /models && chown node:node /models
USER node
EXPOSE 9000 8001
# ready = /readyz answers 200; set HEALTH_PORT when the service listens elsewhere than 8001
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8001)+'/readyz').then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# node flags from apps/onnx-serving/package.json "bundlegate.nodeFlags": with 600 KB tensors per call the
# default old-generation limit (1.1-2x the live heap) counts the dead, not yet swept tensor buffers and
# starts a full collection every few calls; --heap-growing-percent=300 leaves those to cheap scavenges
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--heap-growing-percent=300", "/app/apps/onnx-serving/dist/main.js"]
