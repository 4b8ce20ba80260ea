# Stand-in for coturn/coturn:4.6 (see README.md): Debian's coturn 4.6.1.
FROM debian:bookworm-slim
LABEL org.robostream.stand-in=true
# Debian's turnserver reads /etc/turnserver.conf first: move it to upstream's /etc/coturn/turnserver.conf so a
# config mounted there is the one read. Its user nobody needs Debian's default database directory and pidfile
# (upstream's build keeps its database under /var/lib/coturn).
RUN apt-get update \
  && apt-get install -y --no-install-recommends coturn \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /etc/coturn /var/lib/coturn /var/lib/turn \
  && mv /etc/turnserver.conf /etc/coturn/turnserver.conf \
  && touch /run/turnserver.pid \
  && chown -R nobody:nogroup /var/lib/coturn /var/lib/turn /run/turnserver.pid \
  && turnserver --version
COPY coturn-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER nobody:nogroup
EXPOSE 3478 3478/udp 5349 5349/udp 49152-65535/udp
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["--log-file=stdout"]
