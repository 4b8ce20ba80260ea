#!/usr/bin/env bash
# Installs the Debian packages robostream builds and tests with (native addons, Redis, coturn, Chromium,
# GStreamer, the Docker engine). Does nothing but check when every package is already installed.
set -euo pipefail
PROVISION_STEP=apt
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
  ${PROVISION_APT_EXTRA:-} # extra names, space separated (to try the install path on a machine that has the rest)
  build-essential python3 pkg-config
  redis-server coturn chromium
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  docker.io debootstrap iptables iproute2 curl ca-certificates
)

# One dpkg-query for all: it prints the packages it knows (exiting 1 if some are unknown), the rest are missing.
declare -A state=()
while read -r name status; do state[$name]=$status; done < <(
  dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true
)
missing=()
for p in "${packages[@]}"; do
  [[ ${state[$p]:-} == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  log "all ${#packages[@]} packages already installed"
else
  log "installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start daemons (coturn on 3478, redis on 6379): tests start their own on free ports.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  # Lock timeout: another apt run on a shared machine waits instead of failing.
  apt_opts=(-q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600)
  apt-get "${apt_opts[@]}" update >/tmp/robostream-apt-update.log 2>&1 ||
    die "apt-get update failed (log: /tmp/robostream-apt-update.log): $(tail -n 5 /tmp/robostream-apt-update.log)"
  apt-get "${apt_opts[@]}" install -y "${missing[@]}" >/tmp/robostream-apt-install.log 2>&1 ||
    die "apt-get install failed (log: /tmp/robostream-apt-install.log): $(tail -n 15 /tmp/robostream-apt-install.log)"
  log "installed: ${missing[*]}"
fi

# If the coturn package's own daemon runs (a host with an init system), it holds 3478: stop it by its pidfile.
if [[ -x /etc/init.d/coturn ]] && start-stop-daemon --status --pidfile /var/run/turnserver.pid 2>/dev/null; then
  log "stopping the coturn package's daemon so port 3478 stays free"
  /etc/init.d/coturn stop >/dev/null || die "could not stop the coturn daemon (pidfile /var/run/turnserver.pid)"
fi
