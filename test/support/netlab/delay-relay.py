#!/usr/bin/env python3
"""Delay and jitter for the netlab path: the kernel here has no netem qdisc, so packets are routed through a TUN
device that this process owns and are written back after delay +- jitter (uniform). Order is kept per
(source, destination) pair, as a cellular link delivers in order: a packet never leaves before the one ahead of
it. Standard library only; runs as root inside the router namespace:

    python3 delay-relay.py TUN_NAME

Reads JSON lines on stdin ({"delayMs": 80, "jitterMs": 20}); prints "ready" once the device exists. The device
is not persistent: it disappears with this process, so a crash leaves nothing behind.
"""
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main() -> None:
    name = sys.argv[1]
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    delay, jitter = 0.0, 0.0
    queue: list = []  # (release_at, seq, packet)
    last_release: dict = {}
    seq = 0
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        readable, _, _ = select.select([fd, stdin], [], [], timeout)
        if stdin in readable:
            line = sys.stdin.readline()
            if not line:
                return  # the lab is gone: so is this relay
            cfg = json.loads(line)
            delay = float(cfg.get("delayMs", 0)) / 1000
            jitter = float(cfg.get("jitterMs", 0)) / 1000
        if fd in readable:
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                now = time.monotonic()
                pair = packet[12:20]  # IPv4 source and destination
                at = max(now + delay + random.uniform(-jitter, jitter), last_release.get(pair, 0.0))
                last_release[pair] = at
                seq += 1
                heapq.heappush(queue, (at, seq, packet))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
            except OSError:
                pass  # no route any more (a link was removed): the packet is lost, as on a real path


if __name__ == "__main__":
    main()
