#!/usr/bin/env bash
# Builds stand-ins for the upstream base images the project's Dockerfiles and compose.yaml name, under the same
# tags, because this machine reaches no container registry (see stand-ins/README.md). Each image is skipped
# when its tag exists (rebuilt when its stand-in recipe changed); the debootstrap root filesystem is cached so a rebuild does not debootstrap again.
set -euo pipefail
PROVISION_STEP=images
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
stand_ins=$here/stand-ins

cache=/var/cache/robostream
rootfs_tar=$cache/rootfs.tar
logs=$cache/logs
mkdir -p "$cache" "$logs" /var/lock

docker info >/dev/null 2>&1 || die "the Docker engine does not answer (run scripts/provision/docker-engine.sh first)"

# Two provisioning runs on one machine would race on the same tags and cache files.
exec 9>/var/lock/robostream-base-images.lock
flock 9

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# A short hash of the files an image is built from, kept in a label so an edited recipe rebuilds its image.
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }

# True when TAG exists and needs no build: a real upstream image, or a stand-in built from recipe HASH.
up_to_date() {
  local tag=$1 hash=$2 labels
  labels=$(docker image inspect -f '{{index .Config.Labels "org.robostream.stand-in"}} {{index .Config.Labels "org.robostream.stand-in.recipe"}}' "$tag" 2>/dev/null) ||
    return 1
  [[ $labels == "true $hash" || $labels != true* ]]
}

# Runs "$@" with its output in $logs/NAME.log; on failure stops with the log's tail.
logged() {
  local name=$1
  shift
  "$@" >"$logs/$name.log" 2>&1 || die "$name failed (log: $logs/$name.log):
$(tail -n 25 "$logs/$name.log")"
}

# Unmounts anything left mounted under DIR (debootstrap mounts /proc and /sys in its target) and removes it.
remove_tree() {
  local dir=$1 m
  [[ -d $dir ]] || return 0
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$dir"
}

build_rootfs() {
  command -v debootstrap >/dev/null || die "debootstrap is missing (run scripts/provision/apt-packages.sh)"
  local mirror security dir start
  mirror=$(debian_mirror)
  security=$(debian_security_mirror)
  dir=$(mktemp -d "$cache/rootfs.XXXXXX")
  # shellcheck disable=SC2064 # expand now: dir is local
  trap "remove_tree '$dir'" RETURN
  start=$(now)
  log "debootstrap --variant=minbase bookworm from $mirror (cached afterwards as $rootfs_tar)"
  logged debootstrap debootstrap --variant=minbase bookworm "$dir" "$mirror"

  # What the upstream slim image has: its apt sources, no daemons started by package scripts, no docs,
  # man pages or locales, apt that cleans up after itself.
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
DPKG
  echo 'force-unsafe-io' >"$dir/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$dir/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$dir"/usr/share/{info,man,lintian}/* "$dir/var/cache/apt"/*.bin "$dir/var/cache/apt/archives"/*.deb \
    "$dir/var/lib/apt/lists"/* "$dir/var/log"/*.log "$dir/var/log/apt"/* "$dir/tmp"/*
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  : >"$dir/etc/resolv.conf"
  : >"$dir/etc/machine-id"

  tar --numeric-owner -C "$dir" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  log "root filesystem ready in $(elapsed "$start") s ($(du -h "$rootfs_tar" | cut -f1))"
}

build_slim() {
  local tag=debian:bookworm-slim
  if have_image "$tag"; then
    log "$tag present"
    return 0
  fi
  [[ -s $rootfs_tar ]] || build_rootfs
  logged import-slim docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.robostream.stand-in=true' \
    --change 'CMD ["bash"]' \
    "$rootfs_tar" "$tag"
  log "$tag imported from $rootfs_tar"
}

# Fetches (once) the npm package TARBALL_PACKAGE@RANGE into $cache/npm and prints the tarball's path.
npm_tarball() {
  local spec=$1 prefix=$2 dir=$cache/npm found name
  mkdir -p "$dir"
  found=$(find "$dir" -maxdepth 1 -name "$prefix*.tgz" | sort -V | tail -n 1)
  if [[ -z $found ]]; then
    name=$(cd "$dir" && npm pack --silent "$spec" 2>"$logs/npm-pack.log" | tail -n 1) ||
      die "npm pack $spec failed: $(tail -n 5 "$logs/npm-pack.log")"
    found=$dir/$name
    [[ -s $found ]] || die "npm pack $spec left no tarball in $dir"
  fi
  printf '%s\n' "$found"
}

build_node() {
  local tag=node:22-bookworm-slim arch node_tgz npm_tgz version ctx hash
  hash=$(recipe_hash "$stand_ins/node.Dockerfile" "$stand_ins/node-entrypoint.sh")
  if up_to_date "$tag" "$hash"; then
    log "$tag present"
    return 0
  fi
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "no node-linux-* npm package for $(uname -m)" ;;
  esac
  # The npm packages node-linux-<arch> carry the official Node builds; npm 10 is what Node 22 bundles.
  node_tgz=$(npm_tarball "node-linux-$arch@22" "node-linux-$arch-22.")
  npm_tgz=$(npm_tarball "npm@10" "npm-10.")
  version=$(basename "$node_tgz" .tgz)
  version=${version#node-linux-"$arch"-}
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] || die "no host CA bundle at /etc/ssl/certs/ca-certificates.crt"
  ctx=$(mktemp -d /tmp/robostream-node-image.XXXXXX)
  # shellcheck disable=SC2064 # expand now: ctx is local
  trap "rm -rf '$ctx'" RETURN
  cp "$node_tgz" "$ctx/node.tgz"
  cp "$npm_tgz" "$ctx/npm.tgz"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-bundle.crt"
  cp "$stand_ins/node-entrypoint.sh" "$ctx/"
  logged build-node docker build --build-arg "NODE_VERSION=$version" --label "org.robostream.stand-in.recipe=$hash" \
    -t "$tag" -f "$stand_ins/node.Dockerfile" "$ctx"
  log "$tag built (Node $version, $(basename "$npm_tgz" .tgz))"
}

build_from_stand_ins() {
  local tag=$1 name=$2 hash
  hash=$(recipe_hash "$stand_ins/$name.Dockerfile" "$stand_ins/$name-entrypoint.sh")
  if up_to_date "$tag" "$hash"; then
    log "$tag present"
    return 0
  fi
  logged "build-$name" docker build --label "org.robostream.stand-in.recipe=$hash" -t "$tag" \
    -f "$stand_ins/$name.Dockerfile" "$stand_ins"
  log "$tag built"
}

timed() {
  local start
  start=$(now)
  "$@"
  log "  ($(elapsed "$start") s)"
}

timed build_slim
timed build_node
timed build_from_stand_ins redis:7-bookworm redis
timed build_from_stand_ins coturn/coturn:4.6 coturn
