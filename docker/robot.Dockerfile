# The robot image: the streamer (GStreamer capture/encode + WebRTC) and the gateway (data channels to robot
# programs), plus the demo robot program the local stack runs (examples/demo-service). One image, one process
# per container: compose runs it with different commands.
# Build from the repository root:  docker build -f docker/robot.Dockerfile -t robostream/robot .
# Behind an HTTPS-intercepting proxy, give npm the proxy's CA for the build only:
#   docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt -f docker/robot.Dockerfile .

# --- builder: compilers and GStreamer headers for the gstreamer-superficial addon (never in the runtime image).
FROM node:22-bookworm-slim AS deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends build-essential python3 pkg-config \
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY services/protocol/package.json services/protocol/
COPY services/signaling/package.json services/signaling/
COPY services/streamer/package.json services/streamer/
COPY services/gateway/package.json services/gateway/
COPY services/web/package.json services/web/
COPY infra/package.json infra/
# node-gyp takes Node's headers from the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=npm_ca,required=false \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
  && npm ci --no-audit --no-fund -w services/streamer -w services/gateway \
  && test -f node_modules/gstreamer-superficial/build/Release/gstreamer-superficial.node \
  && npm install --no-save --no-audit --no-fund --ignore-scripts --prefix /tools esbuild@0.28.2

# --- build: each entry point bundled into one file; the native addon stays beside them in node_modules.
FROM deps AS build
COPY docker/bundle.mjs docker/
COPY services/protocol/src services/protocol/src
COPY services/signaling/src services/signaling/src
COPY services/gateway/src services/gateway/src
COPY services/streamer/src services/streamer/src
COPY examples/demo-service/battery-service.ts examples/demo-service/
RUN node docker/bundle.mjs /out/streamer.mjs services/streamer/src/main.ts --external gstreamer-superficial --without-redis \
  && node docker/bundle.mjs /out/gateway.mjs services/gateway/src/main.ts \
  && node docker/bundle.mjs /out/demo-service.mjs examples/demo-service/battery-service.ts \
  && mkdir -p /out/node_modules/gstreamer-superficial/build/Release \
  && cp node_modules/gstreamer-superficial/package.json /out/node_modules/gstreamer-superficial/ \
  && cp node_modules/gstreamer-superficial/build/Release/gstreamer-superficial.node \
    /out/node_modules/gstreamer-superficial/build/Release/

# --- runtime: Debian slim, GStreamer's runtime plugins and the Node binary.
FROM node:22-bookworm-slim AS node
FROM debian:bookworm-slim
# tools: gst-inspect-1.0 (the streamer probes encoders with it); base/good/bad/ugly: sources, x264, RTP,
# v4l2, kmssink; x: pango (timeoverlay on test sources); libav: decoders; nice: ICE for webrtcbin; alsa/pulseaudio: microphones and speakers.
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
    gstreamer1.0-x gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-alsa gstreamer1.0-pulseaudio \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Non-root; audio and video are the Debian groups that own /dev/snd/* and /dev/video*. Other device groups
# (render, the Jetson/Pi ones) are added at run time with the host's numeric ids (compose group_add).
RUN useradd --system --uid 10001 --user-group --groups audio,video --create-home --home-dir /home/robostream \
    --shell /usr/sbin/nologin robostream \
  # A fresh named volume takes this directory's owner: the recorder (docs/recording.md) can write to it.
  && mkdir -p /var/lib/robostream/recordings && chown robostream:robostream /var/lib/robostream/recordings
WORKDIR /app
COPY --from=build /out/ ./
COPY --chmod=0755 docker/http-healthcheck.sh /usr/local/bin/http-healthcheck
# GStreamer's appsink pulls and bus polls each hold a libuv pool thread (see the streamer README): two per running
# pipeline, i.e. per camera, codec and layer, the microphone, and each viewer's sinks (the operator's microphone and
# camera). 16 refused the second operator's microphone in the compose stack ("cannot play app media": 18 needed);
# 64 covers two cameras in both codecs with their low layers and four viewers with microphone and camera. An idle
# pool thread costs its stack's address space, not memory.
ENV NODE_ENV=production UV_THREADPOOL_SIZE=64
USER robostream
# Streamer HTTP (health, metrics) and the gateway's direct LAN listener.
EXPOSE 9110 7443
# HEALTH_URL: the process's own /healthz (the streamer's by default; compose sets the gateway's).
ENV HEALTH_URL=http://127.0.0.1:9110/healthz
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 CMD ["http-healthcheck"]
# Both entry points stop their pipelines and sessions on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["node", "/app/streamer.mjs"]
