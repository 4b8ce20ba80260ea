#!/usr/bin/env bash
# `npm start`: installs what the local stack needs and is missing, then runs scripts/dev-stack.ts.
#   - Debian packages (GStreamer, Chromium, coturn, ...) through scripts/provision/apt-packages.sh, as root
#     (only a check when everything is there; DEV_SKIP_APT=1 skips it);
#   - node_modules through `npm ci` when it is absent.
# Settings (DEV_PORT, DEV_CAMERA, ...) are described at the top of scripts/dev-stack.ts and in docs/web.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${DEV_SKIP_APT:-} != 1 ]]; then
  if [[ $(id -u) == 0 ]]; then
    bash scripts/provision/apt-packages.sh
  elif ! command -v gst-launch-1.0 >/dev/null; then
    echo "[stack] GStreamer is missing: run 'sudo bash scripts/provision/apt-packages.sh' once, then npm start" >&2
    exit 1
  fi
fi

if [[ ! -d node_modules ]]; then
  echo "[stack] node_modules is missing: npm ci" >&2
  npm ci
fi

# exec: the stack is this process, so Ctrl-C and SIGTERM reach it (and it stops its children in order).
exec node --import tsx scripts/dev-stack.ts "$@"
