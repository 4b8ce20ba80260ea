// A relayed session lets the app's first connectivity checks in before the robot knows the app's addresses.
//
// A TURN server drops what reaches a relayed address from a peer IP the allocation has no permission for (RFC 8656,
// section 9), and werift 0.24.4 asks for one only when it sends its own first check to a remote candidate: after the
// app's relayed candidate has come, trickled, and werift's 20 ms check loop has picked the pair. Until then the
// app's checks are dropped, and Chromium checks a pair again only every ~48 ms. Measured on a relay-only session in
// the protocol bench (robot answered at +3 ms): the app's candidate came at +50, werift's first check at +63, and
// the first of Chromium's checks to get through at +109 (ICE completed at +110).
//
// Both ends usually relay through the same TURN server (the signaling service hands the robot and its apps the same
// one): the app's relayed address then has the server's relay IP, the IP of the robot's own relayed address. A
// permission for that IP, asked for as soon as the allocation exists, lets the app's first check through, and werift
// learns the app's candidate from it (peer-reflexive) if the trickled one has not come yet. A permission is per IP
// (RFC 8656, section 9: ports are ignored), and what it lets in still has to pass ICE's credentials and DTLS; with
// an app on another TURN server it changes nothing.
// Shared with the streamer (exported as @robostream/gateway/werift-turn-self-permission).

import { turnAllocationsOf, weriftTurnOf, type WeriftTurn } from './werift-turn-release.js';

/** An allocation with its relayed address, and werift's (deduplicating, serialized) CreatePermission. */
function turnOf(protocol: unknown): Pick<WeriftTurn, 'relayedAddress' | 'getPermission'> | null {
  const turn = weriftTurnOf(protocol);
  if (!turn || typeof turn.getPermission !== 'function' || !Array.isArray(turn.relayedAddress)) return null;
  return turn as WeriftTurn;
}

/** Asked for once per allocation. */
const permitted = new WeakSet<object>();

/**
 * Gives one TURN allocation (a werift StunOverTurnProtocol) a permission for its own relay IP. Resolves true when
 * the server granted it; never throws (a refusal leaves werift's own permissions to do as before).
 */
export async function permitOwnRelayIp(protocol: unknown): Promise<boolean> {
  const turn = turnOf(protocol);
  if (!turn || permitted.has(turn)) return false;
  permitted.add(turn);
  const [ip, port] = turn.relayedAddress!;
  try {
    await turn.getPermission([ip, port]);
    return true;
  } catch {
    return false;
  }
}

/** The same for every TURN allocation a werift peer connection holds now (none when its internals differ). */
export function permitOwnRelayIps(pc: unknown): void {
  for (const p of turnAllocationsOf(pc)) void permitOwnRelayIp(p);
}
