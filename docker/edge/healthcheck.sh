#!/bin/bash
# Health check without curl in the image: HTTP/1.0 GET of HAProxy's monitor URI over bash's /dev/tcp.
exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1
printf 'GET /edge/healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ $status == "HTTP/1."?" 200 "* ]]
