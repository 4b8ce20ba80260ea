// The answer goes out with the host candidates; server-reflexive (STUN) and relayed (TURN) ones follow, trickled.
//
// werift 0.24.4 gathers every candidate inside setLocalDescription and starts its connectivity checks only after:
// the answer, and the connection, wait for the slowest ICE server. A TURN allocation is two or three round trips to
// the server (TCP or TLS connect, Allocate, authenticated Allocate): on a robot whose TURN server is 100 ms away that
// is 300 ms or more before every answer, and in the compose stack (TURN over TCP on the same machine) it took 5-158 ms
// of the robot's answer. Here werift's gathering ends once the host sockets are bound; the STUN and TURN queries go
// on, their candidates reach the app as trickled ones (werift announces each as it comes), and the end of candidates
// is announced when the last of them is in.
//
// Not for sessions whose answer must be complete (WHEP), and nothing changes for relay-only gathering, whose only
// candidates are the slow ones. Reads werift 0.24.4's ICE connection internals; a connection without them is left
// alone (it gathers as before).

import { releaseTurnAllocation } from '@robostream/gateway/werift-turn-release';
import { permitOwnRelayIp } from '@robostream/gateway/werift-turn-self-permission';

interface ProtocolInternals {
  localIp?: string;
  localCandidate?: { type?: string };
  close?: () => unknown;
}

interface GatheringInternals {
  state?: string;
  protocols: ProtocolInternals[];
  options: { forceTurn?: boolean };
  localCandidatesEnd?: boolean;
  getCandidatePromises(addresses: string[], timeout?: number): Promise<unknown>[];
  appendLocalCandidate(candidate: unknown): void;
  pairLocalProtocol(protocol: ProtocolInternals): void;
}

function gatheringOf(iceTransport: unknown): GatheringInternals | null {
  const c = (iceTransport as { connection?: Partial<GatheringInternals> } | null)?.connection;
  if (
    !c ||
    !Array.isArray(c.protocols) ||
    typeof c.options !== 'object' ||
    typeof c.getCandidatePromises !== 'function' ||
    typeof c.appendLocalCandidate !== 'function' ||
    typeof c.pairLocalProtocol !== 'function'
  )
    return null;
  return c as GatheringInternals;
}

export interface TrickledGathering {
  /** Resolves when the candidates of the latest gathering (ICE restarts gather again) are all in. */
  allGathered(): Promise<void>;
}

const installed = new WeakMap<object, TrickledGathering>();

/** Installs the early end on an ICE transport (once); null when werift's internals are not the expected ones. */
export function trickleServerCandidates(iceTransport: unknown): TrickledGathering | null {
  const connection = gatheringOf(iceTransport);
  if (!connection) return null;
  const existing = installed.get(connection);
  if (existing) return existing;
  let pending: Promise<void> = Promise.resolve();
  const getCandidatePromises = connection.getCandidatePromises.bind(connection);
  connection.getCandidatePromises = (addresses, timeout) => {
    // werift lists one host promise per address it has no socket on yet, first (none when relay-only), then the
    // TCP, STUN and TURN ones.
    const hosts = connection.options.forceTurn
      ? 0
      : addresses.filter((a) => !connection.protocols.some((p) => p.localIp === a)).length;
    const all = getCandidatePromises(addresses, timeout);
    if (hosts === 0) {
      pending = Promise.resolve();
      return all;
    }
    pending = Promise.allSettled(all.slice(hosts)).then(() => undefined);
    return all.slice(0, hosts);
  };
  const appendLocalCandidate = connection.appendLocalCandidate.bind(connection);
  connection.appendLocalCandidate = (candidate) => {
    const protocol = connection.protocols.find((p) => p.localCandidate === candidate);
    if (connection.state === 'closed') {
      // The session ended while the server answered: werift's close() has already closed the sockets it knew,
      // not this one (its TURN allocation would be refreshed for ever); the server is told to delete it first.
      void releaseTurnAllocation(protocol)
        .then(() => protocol?.close?.())
        .catch(() => undefined);
      return;
    }
    appendLocalCandidate(candidate);
    // A relayed candidate: the app's checks through the same TURN server may come before its candidates do.
    void permitOwnRelayIp(protocol);
    // A relayed candidate after the checks were formed: pair its socket with the app's candidates known by now
    // (werift pairs a TURN socket only when the checks start; later app candidates are paired as they come).
    if (connection.localCandidatesEnd && protocol) connection.pairLocalProtocol(protocol);
  };
  const gathering: TrickledGathering = { allGathered: () => pending };
  installed.set(connection, gathering);
  return gathering;
}

/** An answer sent while candidates are still coming must not claim it has them all. */
export function withoutEndOfCandidates(sdp: string): string {
  return sdp.replace(/^a=end-of-candidates\r?\n/gm, '');
}
