#!/usr/bin/env bash
# Writes .env for compose.yaml's local stack: the public key of the development signing key (.dev-keys/, made
# on first use), a fresh TURN secret, a token for the simulated robot, TURN_HOST and the host's device groups.
# Keeps an existing .env unless --force. Prints no secret. Needs the workspace installed (npm ci).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

force=0
[[ ${1:-} == --force ]] && force=1
out=${ENV_FILE:-.env} # another path to try it without touching .env
if [[ -e $out && $force == 0 ]]; then
  echo "make-env: $out exists; run with --force to replace it" >&2
  exit 1
fi
die() {
  echo "make-env: $*" >&2
  exit 1
}

token() { DEV_KEYS_DIR=.dev-keys npx --no-install tsx services/signaling/src/cli/token.ts "$@"; }
sim_id=sim-robot
# awk turns line breaks into \n for sed, which writes them back: a double-quoted multi-line value, which compose reads.
public_key=$(token public-key | awk '{ printf "%s\\n", $0 }')
sim_token=$(token robot "$sim_id" --ttl 365d)
[[ $public_key == *BEGIN* && -n $sim_token ]] || die "the token CLI printed nothing (is the workspace installed? npm ci)"
turn_secret=$(node -e "console.log(require('node:crypto').randomBytes(32).toString('hex'))")
turn_host=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
gid() { getent group "$1" | cut -d: -f3; }

tmp=$(mktemp "$out.XXXXXX")
chmod 600 "$tmp"
sed \
  -e "s|^ROBOSTREAM_PUBLIC_KEY=.*|ROBOSTREAM_PUBLIC_KEY=\"${public_key%\\n}\"|" \
  -e "s|^TURN_SECRET=.*|TURN_SECRET=$turn_secret|" \
  -e "s|^TURN_HOST=.*|TURN_HOST=${turn_host:-172.17.0.1}|" \
  -e "s|^SIM_ROBOT_ID=.*|SIM_ROBOT_ID=$sim_id|" \
  -e "s|^SIM_ROBOT_TOKEN=.*|SIM_ROBOT_TOKEN=$sim_token|" \
  -e "s|^VIDEO_GID=.*|VIDEO_GID=$(gid video || echo 44)|" \
  -e "s|^AUDIO_GID=.*|AUDIO_GID=$(gid audio || echo 29)|" \
  -e "s|^RENDER_GID=.*|RENDER_GID=$(gid render || echo 65534)|" \
  .env.example >"$tmp"
mv "$tmp" "$out"
echo "make-env: wrote $out (simulated robot '$sim_id'; app tokens: npm run token -- app <you> --robots '*' --grants view,talk,drive)"
