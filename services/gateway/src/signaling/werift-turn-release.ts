// A closing session gives its TURN allocations back.
//
// werift 0.24.4's close() stops refreshing a TURN allocation and closes its socket, but does not tell the server:
// the allocation, and its relay port, stay on the TURN server until its lifetime runs out (coturn's default is
// 600 s) and count against the robot's quota meanwhile (this project's coturn: `user-quota=64` per username, and
// every session of a robot shares one username until its credentials are renewed). A robot whose viewers come and
// go, or whose app reconnects in a loop, ran out of relay ports in ten minutes where a browser, which deallocates,
// would not. RFC 8656 (section 7): a Refresh with LIFETIME 0 deletes the allocation at once; sent on every TURN
// allocation of the session just before werift closes it, waiting at most a moment for the answer (a server that
// does not answer lets the allocation expire, as before).
// Shared with the streamer (exported as @robostream/gateway/werift-turn-release).
import { Message, classes, methods } from 'werift';

/**
 * werift 0.24.4's TurnProtocol, the parts this module and werift-turn-self-permission use: a Refresh needs
 * requestWithRetry (it signs the request and follows a stale nonce), a permission getPermission.
 */
export interface WeriftTurn {
  server: unknown;
  transport?: { closed?: boolean };
  relayedAddress?: [string, number];
  requestWithRetry(request: Message, addr: unknown): Promise<unknown>;
  getPermission(addr: [string, number]): Promise<unknown>;
}

/** The TURN client of one of werift's ICE protocols (a StunOverTurnProtocol), unchecked: callers check what they use. */
export function weriftTurnOf(protocol: unknown): Partial<WeriftTurn> | null {
  const p = protocol as { type?: unknown; turn?: Partial<WeriftTurn> } | null;
  return (p?.type === 'turn' && p.turn) || null;
}

function turnOf(protocol: unknown): WeriftTurn | null {
  const turn = weriftTurnOf(protocol);
  if (!turn || typeof turn.requestWithRetry !== 'function' || turn.server === undefined) return null;
  return turn as WeriftTurn;
}

/** The TURN allocations of a werift peer connection's ICE transports (none when its internals are not werift's). */
export function turnAllocationsOf(pc: unknown): unknown[] {
  const transports = (pc as { iceTransports?: { connection?: { protocols?: unknown } }[] } | null)
    ?.iceTransports;
  const found: unknown[] = [];
  for (const t of Array.isArray(transports) ? transports : []) {
    const protocols = t?.connection?.protocols;
    if (Array.isArray(protocols)) for (const p of protocols) if (turnOf(p)) found.push(p);
  }
  return found;
}

/**
 * Deletes one TURN allocation (a werift StunOverTurnProtocol) on its server: true when the server confirmed within
 * `timeoutMs`. Never throws; the caller closes the socket afterwards as before.
 */
export async function releaseTurnAllocation(protocol: unknown, timeoutMs = 500): Promise<boolean> {
  const turn = turnOf(protocol);
  if (!turn || turn.transport?.closed) return false;
  const request = new Message(methods.REFRESH, classes.REQUEST);
  request.setAttribute('LIFETIME', 0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const released = turn.requestWithRetry(request, turn.server).then(
    () => true,
    () => false,
  );
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([released, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deletes every TURN allocation of a werift peer connection, in parallel; resolves with how many were confirmed. */
export async function releaseTurnAllocations(pc: unknown, timeoutMs = 500): Promise<number> {
  const results = await Promise.all(turnAllocationsOf(pc).map((p) => releaseTurnAllocation(p, timeoutMs)));
  return results.filter(Boolean).length;
}
