// A hand-over (Wi-Fi to LTE): the robot's old address is gone and its packets now leave from a new one. werift's
// sockets are bound to every address, so media keeps going out, but the app drops packets from an address it has
// not checked. It learns the new one (a peer-reflexive candidate, then its own check and switch) from the robot's
// next STUN request on the selected pair, and werift sends one only every 4-6 s (consent freshness): in the
// network lab frames resumed 5.3 s after the change. A nudge sends that request at once.
//
// Reads werift 0.24.4's ICE connection internals (private in its typings); a connection that does not have them is
// left alone (the next consent request still comes).

export interface PairInternals {
  /** Seconds; werift measures it with ICE checks and consent responses only. */
  rtt?: number;
  remoteAddr: unknown;
  localCandidate: { priority?: unknown };
  protocol: {
    request(request: unknown, addr: unknown, integrityKey: Buffer, options: unknown): Promise<unknown>;
  };
}

export interface ConnectionInternals {
  nominated?: PairInternals;
  localUsername: string;
  remoteUsername: string;
  remotePassword: string;
  iceControlling: boolean;
  buildRequest(o: {
    nominate: boolean;
    localUsername: string;
    remoteUsername: string;
    iceControlling: boolean;
    localCandidate: unknown;
  }): { setAttribute?: (name: string, value: unknown) => unknown };
}

export function connectionOf(pc: unknown): ConnectionInternals | null {
  const transports = (pc as { iceTransports?: { connection?: unknown }[] }).iceTransports;
  const c = transports?.[0]?.connection as Partial<ConnectionInternals> | undefined;
  if (
    !c ||
    typeof c.buildRequest !== 'function' ||
    typeof c.remotePassword !== 'string' ||
    typeof c.localUsername !== 'string' ||
    typeof c.remoteUsername !== 'string'
  )
    return null;
  return c as ConnectionInternals;
}

/** Sends one STUN binding request on the selected pair now. False when there is none (or werift changed). */
export function nudgeIce(pc: unknown): boolean {
  const c = connectionOf(pc);
  const pair = c?.nominated;
  if (!c || !pair || typeof pair.protocol?.request !== 'function') return false;
  const request = c.buildRequest({
    nominate: false,
    localUsername: c.localUsername,
    remoteUsername: c.remoteUsername,
    iceControlling: c.iceControlling,
    localCandidate: pair.localCandidate,
  });
  // werift claims a peer-reflexive priority (below a host candidate's), so the app's pair with the new address
  // ranked under the old, dead one, and Chromium switched only once it gave that up: frames back 0.7-1.5 s after
  // the new path was up in the lab. Claiming one above the pair's own local candidate, they were back in 0.20-0.59 s.
  if (typeof pair.localCandidate.priority === 'number' && typeof request.setAttribute === 'function')
    request.setAttribute('PRIORITY', Math.min(0xffffffff, pair.localCandidate.priority + 1));
  // Two retransmissions: the new path may lose the first one. Its answer (or none) changes nothing here: werift's
  // own consent checks keep judging the pair.
  pair.protocol
    .request(request, pair.remoteAddr, Buffer.from(c.remotePassword, 'utf8'), { retransmissions: 2 })
    .catch(() => undefined);
  return true;
}
