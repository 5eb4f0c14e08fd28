# syntax=docker/dockerfile:1
# model-download: a job that copies every model of a bundle from gs:// s3:// or file:// into /models, then exits.
# Build from the repository root: docker build -f deploy/docker/model-download.Dockerfile -t bundlegate/model-download:0.1.0 .

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
RUN npm run build --workspace @bundlegate/model-download
# production dependencies of this app only, from the npm cache the install above filled
RUN cd /prod \
 && npm ci --omit=dev --workspace @bundlegate/model-download --prefer-offline --no-audit --no-fund

# ---- runtime: the bundled app and its production dependencies (native ones such as onnxruntime-node stay outside the bundle)
FROM node:20-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps children, so `docker stop` ends the process at once
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# glibc keeps freed heap instead of trimming it: each socket read is a new 64 KiB buffer, and re-faulting
# trimmed pages cost ~130k page faults per GiB downloaded (package.json "bundlegate.env", as `bundlegate up`)
ENV MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_TOP_PAD_=16777216
COPY --from=build /prod/ ./
COPY --from=build /src/apps/model-download/dist/ apps/model-download/dist/
# a named volume mounted here takes this ownership, so the non-root user can write it
RUN mkdir -p /models && chown node:node /models
USER node
# a job, not a service: compose waits for it with service_completed_successfully
HEALTHCHECK NONE
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/apps/model-download/dist/main.js"]
