#!/bin/sh
# compose's coturn start (compose.yaml mounts it at /etc/coturn/start.sh). Writes a private copy of the rendered
# turnserver.conf plus two lines no file of the repository holds:
# - allowed-peer-ip for STACK_SUBNET, the subnet compose.yaml pins for its network: the rendered file denies every
#   private range, and relays to the robot and to coturn itself need this one exception. Nothing else private (a
#   developer's LAN, other Docker networks, the host) becomes reachable through the relay.
# - static-auth-secret from the compose secret, so the secret is on no command line either.
set -eu
range=$(printf '%s\n' "${STACK_SUBNET:-}" | awk -F'[./]' '
  function ip(n) { return int(n / 16777216) % 256 "." int(n / 65536) % 256 "." int(n / 256) % 256 "." n % 256 }
  /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+$/ && $1 < 256 && $2 < 256 && $3 < 256 && $4 < 256 && $5 >= 16 && $5 <= 29 {
    n = (($1 * 256 + $2) * 256 + $3) * 256 + $4; size = 2 ^ (32 - $5); first = n - n % size
    print ip(first) "-" ip(first + size - 1)
  }')
if [ -z "$range" ]; then
  echo "coturn start: STACK_SUBNET must be an IPv4 CIDR from /16 to /29, got '${STACK_SUBNET:-}'" >&2
  exit 78
fi
umask 077
{
  cat /etc/coturn/turnserver.conf
  printf '\n# --- compose: relays may reach the stack network %s and no other private address\n' "$STACK_SUBNET"
  printf 'allowed-peer-ip=%s\n' "$range"
  printf 'static-auth-secret=%s\n' "$(cat /run/secrets/turn_secret)"
} >/tmp/turnserver.conf
exec turnserver -c /tmp/turnserver.conf
