#!/usr/bin/env bash
# Starts the Docker engine when it is not answering (no systemd here) and installs compose v2 and buildx as
# CLI plugins. Bookworm's docker-compose is v1 (no top-level `name:`, no --wait), so the plugins come from
# Debian trixie's docker-compose and docker-buildx debs (static Go binaries), fetched with a private apt
# configuration that leaves the system's sources, lists and caches alone.
set -euo pipefail
PROVISION_STEP=docker
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v dockerd >/dev/null || die "dockerd not found: the docker.io package is missing (run scripts/provision/apt-packages.sh)"
command -v docker >/dev/null || die "no docker client on PATH"

plugin_dir=/usr/libexec/docker/cli-plugins
cache=/var/cache/robostream/apt-trixie
lock_dir=/var/lock
mkdir -p "$lock_dir"

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "engine already running"
    return 0
  fi
  # Serialise with other provisioning runs on a shared machine so only one dockerd is started.
  exec 8>"$lock_dir/robostream-dockerd.lock"
  flock 8
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/dockerd.log)"
    setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    local i
    for ((i = 0; i < 60; i++)); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 ||
      die "dockerd did not answer within 30 s; last lines of /var/log/dockerd.log:
$(tail -n 20 /var/log/dockerd.log)"
  fi
  exec 8>&-
  log "engine running: server $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
}

# Downloads the named trixie debs into the current directory with apt's own client and a private configuration.
download_trixie_debs() {
  local mirror
  mirror=$(debian_mirror)
  mkdir -p "$cache/etc/sources.list.d" "$cache/etc/preferences.d" "$cache/lists/partial" "$cache/cache"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$mirror" \
    >"$cache/etc/sources.list"
  local opts=(
    -q
    -o Dir::Etc::SourceList="$cache/etc/sources.list"
    -o Dir::Etc::SourceParts="$cache/etc/sources.list.d"
    -o Dir::Etc::Preferences="$cache/etc/preferences"
    -o Dir::Etc::PreferencesParts="$cache/etc/preferences.d"
    -o Dir::State::Lists="$cache/lists"
    -o Dir::Cache="$cache/cache"
    -o Acquire::Languages=none
    -o Acquire::Retries=3
  )
  log "fetching trixie package lists from $mirror (private apt state in $cache)"
  apt-get "${opts[@]}" update >"$cache/update.log" 2>&1 ||
    die "apt-get update (private trixie config) failed: $(tail -n 5 "$cache/update.log")"
  apt-get "${opts[@]}" download "$@" >"$cache/download.log" 2>&1 ||
    die "apt-get download $* failed: $(tail -n 5 "$cache/download.log")"
}

install_plugins() {
  local want=()
  docker compose version >/dev/null 2>&1 || want+=(docker-compose)
  docker buildx version >/dev/null 2>&1 || want+=(docker-buildx)
  if ((${#want[@]} == 0)); then
    log "plugins present: $(docker compose version --short 2>/dev/null | head -n1) (compose), $(docker buildx version 2>/dev/null | awk '{print $2}') (buildx)"
    return 0
  fi
  local work
  work=$(mktemp -d /tmp/robostream-plugins.XXXXXX)
  # shellcheck disable=SC2064 # expand now: work is local
  trap "rm -rf '$work'" RETURN
  (cd "$work" && download_trixie_debs "${want[@]}")
  mkdir -p "$plugin_dir"
  local deb
  for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
  done
  local found=0 f
  for f in "$work"/root/usr/libexec/docker/cli-plugins/*; do
    [[ -f $f ]] || continue
    install -m 0755 "$f" "$plugin_dir/$(basename "$f")"
    found=1
  done
  ((found)) || die "no CLI plugin binaries inside $(cd "$work" && ls ./*.deb)"
  docker compose version >/dev/null 2>&1 || die "docker compose does not run after installing it into $plugin_dir"
  docker buildx version >/dev/null 2>&1 || die "docker buildx does not run after installing it into $plugin_dir"
  log "installed ${want[*]}: $(docker compose version --short | head -n1) (compose), $(docker buildx version | awk '{print $2}') (buildx)"
}

start_engine
install_plugins
