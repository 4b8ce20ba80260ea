# The signaling service, serving the built web app at / (WEB_ROOT, same origin as /v1/ws).
# Build from the repository root:  docker build -f docker/signaling.Dockerfile -t robostream/signaling .
# Behind an HTTPS-intercepting proxy, give npm the proxy's CA for the build only:
#   docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt -f docker/signaling.Dockerfile .

# --- dependencies: the lockfile and every workspace manifest first, so source edits keep this layer cached.
FROM node:22-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY services/protocol/package.json services/protocol/
COPY services/signaling/package.json services/signaling/
COPY services/streamer/package.json services/streamer/
COPY services/gateway/package.json services/gateway/
COPY services/web/package.json services/web/
COPY infra/package.json infra/
# Only the signaling and web workspaces' dependencies; install scripts are not needed (no native addon here).
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=npm_ca,required=false \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
  && npm ci --no-audit --no-fund --ignore-scripts -w services/signaling -w services/web \
  && npm install --no-save --no-audit --no-fund --ignore-scripts --prefix /tools esbuild@0.28.2

# --- build: one bundled file for the service, and the web app's static files.
FROM deps AS build
COPY docker/bundle.mjs docker/
COPY services/protocol/src services/protocol/src
COPY services/signaling/src services/signaling/src
RUN node docker/bundle.mjs /out/signaling.mjs services/signaling/src/main.ts
COPY tsconfig.base.json ./
COPY services/web services/web
RUN npm run build -w services/web && test -f services/web/dist/index.html

# --- runtime: Debian slim with the Node binary only (no npm, no compiler, no build CA).
FROM node:22-bookworm-slim AS node
FROM debian:bookworm-slim
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin robostream
WORKDIR /app
COPY --from=build /out/signaling.mjs ./
COPY --chmod=0755 docker/http-healthcheck.sh /usr/local/bin/http-healthcheck
COPY --from=build /src/services/web/dist ./web
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 WEB_ROOT=/app/web
USER robostream
EXPOSE 8080
# Liveness (/healthz), never readiness (/readyz): an unhealthy container is restarted, and a Redis outage must not
# restart every replica.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec http-healthcheck http://127.0.0.1:${PORT:-8080}/healthz"]
# main.ts drains on SIGTERM (SHUTDOWN_GRACE_MS) and exits.
STOPSIGNAL SIGTERM
CMD ["node", "/app/signaling.mjs"]
