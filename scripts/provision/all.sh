#!/usr/bin/env bash
# Provisions this machine for robostream's whole test suite: Debian packages, the Docker engine with compose v2
# and buildx, then stand-ins for the upstream base images. Each step skips what is already in place, so a
# provisioned machine passes through in seconds. Run as root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROVISION_STEP=all
. "$here/lib.sh"

[[ $(id -u) == 0 ]] || die "run as root (apt-get, dockerd and debootstrap need it)"

total=$(now)
for step in apt-packages docker-engine base-images; do
  start=$(now)
  bash "$here/$step.sh" || die "$step.sh exited with status $?"
  log "$step done in $(elapsed "$start") s"
done
log "provisioned in $(elapsed "$total") s"
