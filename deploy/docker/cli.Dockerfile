# syntax=docker/dockerfile:1
# cli: bundlegate: generates compose and Kubernetes deployments from a bundle (mount the bundle and the output directory).
# Build from the repository root: docker build -f deploy/docker/cli.Dockerfile -t bundlegate/cli:0.1.0 .

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
RUN npm run build --workspace @bundlegate/cli
# production dependencies of this app only, from the npm cache the install above filled
RUN cd /prod \
 && npm ci --omit=dev --workspace @bundlegate/cli --prefer-offline --no-audit --no-fund

# ---- runtime: the bundled app and its production dependencies (native ones such as onnxruntime-node stay outside the bundle)
FROM node:20-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps children, so `docker stop` ends the process at once
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /prod/ ./
COPY --from=build /src/apps/cli/dist/ apps/cli/dist/
USER node
# a command, not a service
HEALTHCHECK NONE
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/apps/cli/dist/main.js"]
