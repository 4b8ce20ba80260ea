#!/bin/sh
# As upstream's: options alone or a .conf file run redis-server; redis-server runs as user redis.
# Upstream compiles protected mode off and listens on every interface; Debian's binary keeps protected mode on,
# so those defaults are passed here unless the arguments or the config file already set them.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
  umask 0077
fi
if [ "$1" = 'redis-server' ]; then
  shift
  conf=''
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    conf=$1
    shift
  fi
  cli=" $* "
  is_set() { # OPTION given on the command line or in the config file
    case "$cli" in *" --$1 "* | *" --$1="*) return 0 ;; esac
    [ -n "$conf" ] && [ -f "$conf" ] && grep -qiE "^[[:space:]]*$1[[:space:]]" "$conf"
  }
  is_set protected-mode || set -- "$@" --protected-mode no
  is_set bind || set -- "$@" --bind 0.0.0.0
  if [ -n "$conf" ]; then set -- "$conf" "$@"; fi
  set -- redis-server "$@"
  if [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
