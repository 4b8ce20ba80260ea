#!/bin/bash
# Container health check: exit 0 when the URL (argument, else HEALTH_URL) answers 200 within 2 s. An HTTP/1.0 GET
# over bash's /dev/tcp: no curl in the images, and not a Node process either, whose start-up cost 130-165 ms of CPU
# per check here (five containers every 5 s in the compose stack; far more on a robot's ARM board).
url=${1:-$HEALTH_URL}
[[ $url =~ ^http://([^/:]+):([0-9]+)(/.*)?$ ]] || { echo "usage: $0 http://host:port/path" >&2; exit 2; }
host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]} path=${BASH_REMATCH[3]:-/}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&3
IFS= read -r -t 2 status <&3 || exit 1
[[ $status == "HTTP/1."?" 200 "* ]]
