# The local stack's front door: HAProxy spreading HTTP and WebSocket connections over the signaling replicas
# (what the load balancer does in AWS), so the web app and robots keep one URL when a replica dies.
# Build from the repository root:  docker build -f docker/edge.Dockerfile -t robostream/edge .
FROM debian:bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends haproxy \
  && rm -rf /var/lib/apt/lists/* \
  && haproxy -v | head -n 1
COPY docker/edge/haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg
COPY --chmod=0755 docker/http-healthcheck.sh /usr/local/bin/http-healthcheck
RUN haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["http-healthcheck", "http://127.0.0.1:8080/edge/healthz"]
# HAProxy's master process stops its workers on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
