# syntax=docker/dockerfile:1
#
# egress-guard admission webhook server.
#   docker build -t ghcr.io/egress-guard/egress-guard:0.1.0 .
# The image never creates certificates: it reads TLS_CERT_FILE / TLS_KEY_FILE (the mounted egress-guard-tls Secret).
# For reproducible builds pin the base images by digest (node:24-bookworm-slim@sha256:...).

############################## build: compile TypeScript with the dev dependencies
FROM node:24-bookworm-slim AS build
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
FROM node:24-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts again: `prepare` (tsc) must not run in a production install, and typescript is not installed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

############################## runtime
# node:24-bookworm-slim rather than gcr.io/distroless/nodejs24-debian12: the same Debian and the same Node build as
# the build stage (so the compiled output and node_modules run on exactly what they were made with), `node` on PATH
# for the fixed ENTRYPOINT (distroless has it only at /nodejs/bin/node), and a shell for `kubectl exec` debugging.
# npm, npx, corepack and yarn are removed below: nothing runs them at runtime, and they are most of the image's
# CVE surface beyond Node itself.
FROM node:24-bookworm-slim AS runtime
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
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
# Node runs as PID 1 without an init: the server installs its own SIGTERM/SIGINT handlers (graceful drain) and
# starts no child processes.
ENTRYPOINT ["node", "dist/src/main.js"]
