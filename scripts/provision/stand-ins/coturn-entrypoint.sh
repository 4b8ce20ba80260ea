#!/bin/sh
# As upstream's: arguments that start with an option run turnserver with them.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- turnserver "$@"
fi
exec "$@"
