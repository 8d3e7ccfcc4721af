# syntax=docker/dockerfile:1
#
# egress-guard admission webhook server.
#   docker build -t ghcr.io/egress-guard/egress-guard:0.1.0 .
# The image never creates certificates: it reads TLS_CERT_FILE / TLS_KEY_FILE (the mounted egress-guard-tls Secret).
# Base images are pinned by digest (the multi-arch index); the comment on each names the tag it was taken from.
# To refresh: `docker buildx imagetools inspect <tag>` and replace the digest.

############################## build: compile TypeScript with the dev dependencies
# node:24-bookworm-slim
FROM node:24-bookworm-slim@sha256:e8e2e91b1378f83c5b2dd15f0247f34110e2fe895f6ca7719dbb780f929368eb AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's `prepare` runs tsc, and the sources are not copied yet; no dependency the
# build needs has an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# The production server only: src/ without its tests (tsconfig.json also compiles the test trees, which the image
# does not need and which import test-only fixtures).
RUN printf '%s\n' '{ "extends": "./tsconfig.json", "include": ["src/**/*.ts"], "exclude": ["src/**/*.test.ts"] }' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json \
 && test -f dist/src/main.js

############################## prod-deps: production node_modules only
# node:24-bookworm-slim
FROM node:24-bookworm-slim@sha256:e8e2e91b1378f83c5b2dd15f0247f34110e2fe895f6ca7719dbb780f929368eb AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts again: `prepare` (tsc) must not run in a production install, and typescript is not installed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

############################## runtime
# Distroless: Node and the libraries it links, no shell, no package manager (apt, dpkg, npm), nothing else to run
# after a compromise. What users give up is `kubectl exec ... sh`; `kubectl debug -it <pod> --image=busybox
# --target=egress-guard` attaches a shell from another image to the running pod instead. The server needs nothing
# else: it spawns no processes, and its dependencies are plain JavaScript (no native addons), so the runtime's own
# Node 24 build runs what the build stage compiled.
# gcr.io/distroless/nodejs24-debian12
FROM gcr.io/distroless/nodejs24-debian12@sha256:b35a10df56aa17825e81e836ff70fe3c27002809dd94e6bfd655ed05bac52230 AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the server's user; the server writes nothing (readOnlyRootFilesystem).
# package.json is needed at runtime: its "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# Numeric, so Kubernetes' runAsNonRoot can verify it without an /etc/passwd entry.
USER 10001:10001
# 8443: HTTPS admission reviews (PORT). 8080: /healthz, /readyz, /metrics (OPS_PORT).
EXPOSE 8443 8080
# V8's heap is sized in the Deployment (NODE_OPTIONS=--max-old-space-size), beside the memory limit it must fit.
# Node runs as PID 1 without an init: the server installs its own SIGTERM/SIGINT handlers (graceful drain) and
# starts no child processes.
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]
