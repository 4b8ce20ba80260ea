/**
 * The app side of one signaling session: the app offers, the robot answers, both trickle candidates
 * (docs/protocol.md, media and gateway sessions). The first offer goes with the session request, so the robot
 * has it as soon as it accepts. Remote candidates wait while an offer is outstanding, so that after an ICE restart
 * they are never applied to the previous ICE generation; local ones wait until the robot accepted (signaling relays
 * nothing for a pending session), except those gathered on a prepared connection before the session, which go in
 * the offer's text.
 */
import type { RobotMeta } from '@robostream/protocol';
import { SignalingError, withReceiverRtt, type SignalingClient } from '@robostream/protocol/client';
import { relaysLocally } from './media-stats.js';

/** An offer made (and set) ahead of the session, with the local candidates gathered since (offer-preparer.ts). */
export interface PreparedOffer {
  offer: string;
  early: (RTCIceCandidateInit | null)[];
}

/** Creates and sets a local offer; resolves with the SDP sent to the robot. */
export async function makeOffer(pc: RTCPeerConnection, iceRestart: boolean): Promise<string> {
  const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : {});
  await pc.setLocalDescription({ type: 'offer', sdp: withReceiverRtt(offer.sdp ?? '') });
  return pc.localDescription?.sdp ?? offer.sdp ?? '';
}

export class OfferingPeer {
  private readonly queued: (RTCIceCandidateInit | null)[] = [];
  /** Local candidates gathered before the robot accepted. */
  private readonly early: (RTCIceCandidateInit | null)[] = [];
  private readonly offs: (() => void)[] = [];
  private id: string | null = null;
  private accepted = false;
  private closed = false;

  constructor(
    private readonly client: SignalingClient,
    readonly pc: RTCPeerConnection,
    handlers: {
      /** An ICE restart is due: the robot asked, or a relayed path must move onto renewed TURN credentials. */
      onIceRestartNeeded: (why: string) => void;
      /** The accepted session ended (before acceptance, open() rejects instead). */
      onSessionClosed: (reason: string, by: string) => void;
    },
    /** The connection's first offer, already made and set: open() sends it instead of making one. */
    private prepared: PreparedOffer | null = null,
  ) {
    if (prepared) this.early.push(...prepared.early);
    pc.addEventListener('icecandidate', (e) => {
      if (this.closed) return;
      const c = e.candidate ? (e.candidate.toJSON() as RTCIceCandidateInit) : null;
      if (this.accepted) this.sendLocal(c);
      else this.early.push(c);
    });
    const mine = (m: { sessionId: string }): boolean => this.id !== null && m.sessionId === this.id;
    this.offs.push(
      client.on('answer', (m) => {
        if (mine(m)) void this.onAnswer(m.sdp);
      }),
      client.on('candidate', (m) => {
        if (mine(m)) void this.addRemote(m.candidate);
      }),
      client.on('end_of_candidates', (m) => {
        if (mine(m)) void this.addRemote(null);
      }),
      client.on('ice_restart', (m) => {
        if (mine(m)) handlers.onIceRestartNeeded('the robot asked for an ICE restart');
      }),
      // Renewed TURN credentials only reach new allocations: a relayed path is moved onto them by an ICE restart
      // before the old ones expire (coturn refuses to refresh an allocation with an expired username).
      client.on('ice_servers', () => {
        if (this.closed || pc.connectionState === 'closed') return;
        pc.setConfiguration({ ...pc.getConfiguration(), iceServers: client.iceServers as RTCIceServer[] });
        void relaysLocally(pc).then((relayed) => {
          if (relayed && !this.closed) handlers.onIceRestartNeeded('TURN credentials renewed');
        });
      }),
      client.on('session_closed', (m) => {
        if (mine(m) && this.accepted) handlers.onSessionClosed(m.reason, m.by);
      }),
    );
  }

  /**
   * Makes the first offer and opens the session with it; resolves with the session id once the robot accepted.
   * Rejects (a SignalingError) when the robot is offline, refuses, or does not answer; this peer and its
   * connection are closed then.
   */
  async open(robotId: string, endpoint: string, meta: RobotMeta): Promise<string> {
    const offer = this.prepared ? this.withGathered(this.prepared.offer) : await makeOffer(this.pc, false);
    this.prepared = null;
    let sessionId: string;
    try {
      sessionId = await this.openWith(robotId, endpoint, meta, offer);
    } catch (err) {
      // Refused, closed or timed out: signaling has no such session any more (the client closed a timed-out one).
      this.id = null;
      this.dispose('session not opened');
      this.pc.close();
      throw err;
    }
    this.id = sessionId;
    if (this.closed) {
      this.client.closeSession(sessionId, 'closed by the operator');
      return sessionId;
    }
    this.accepted = true;
    for (const c of this.early.splice(0)) this.sendLocal(c);
    return sessionId;
  }

  /**
   * A prepared offer goes out as the connection's local description now: with the candidates gathered since it was
   * set, which then ride with the session request instead of trickling after the acceptance (on a relayed path the
   * robot cannot let the app's checks through its TURN allocation before it knows the app's addresses). Those are not
   * trickled again.
   */
  private withGathered(offer: string): string {
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp || this.pc.signalingState !== 'have-local-offer') return offer;
    const inSdp = (c: RTCIceCandidateInit | null): boolean =>
      c !== null && !!c.candidate && sdp.includes(`a=${c.candidate}\r\n`);
    const rest = this.early.filter((c) => !inSdp(c));
    this.early.splice(0, this.early.length, ...rest);
    return sdp;
  }

  private async openWith(robotId: string, endpoint: string, meta: RobotMeta, offer: string): Promise<string> {
    try {
      return await this.client.openSession(robotId, endpoint, meta, {
        offer,
        onCreated: (id) => (this.id = id),
      });
    } catch (err) {
      // A signaling instance of a version before the opening offer (met during a rolling deploy) refuses the
      // field: open the classic way, then offer.
      if (!(err instanceof SignalingError && err.code === 'bad_message' && /\/offer\b/.test(err.message)))
        throw err;
      const sessionId = await this.client.openSession(robotId, endpoint, meta);
      this.id = sessionId;
      this.client.sendOffer(sessionId, offer);
      return sessionId;
    }
  }

  /**
   * A new offer in the accepted session (an ICE restart, with fresh ICE credentials). False when signaling is down
   * or the session is not open yet.
   */
  async negotiate(iceRestart = false): Promise<boolean> {
    if (!this.accepted || this.id === null) return false;
    return this.client.sendOffer(this.id, await makeOffer(this.pc, iceRestart));
  }

  dispose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    // Before the session exists open() closes it once created; a pending one is closed here.
    if (this.id !== null) this.client.closeSession(this.id, reason);
  }

  private sendLocal(c: RTCIceCandidateInit | null): void {
    if (this.id === null) return;
    if (c) this.client.sendCandidate(this.id, c as never);
    else this.client.sendEndOfCandidates(this.id);
  }

  private async onAnswer(sdp: string): Promise<void> {
    if (this.pc.signalingState !== 'have-local-offer') return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    for (const c of this.queued.splice(0)) await this.apply(c);
  }

  private async addRemote(c: RTCIceCandidateInit | null): Promise<void> {
    if (!this.pc.remoteDescription || this.pc.signalingState !== 'stable') this.queued.push(c);
    else await this.apply(c);
  }

  private async apply(c: RTCIceCandidateInit | null): Promise<void> {
    try {
      // No argument = end of candidates for the current generation.
      await (c ? this.pc.addIceCandidate(c) : this.pc.addIceCandidate());
    } catch {
      // A candidate from a previous generation or an unusable address: ICE goes on with the others.
    }
  }
}
