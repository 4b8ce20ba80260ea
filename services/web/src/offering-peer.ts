/**
 * The app side of one signaling session: the app offers, the robot answers, both trickle candidates
 * (docs/protocol.md, media and gateway sessions). Remote candidates wait while an offer is outstanding, so that
 * after an ICE restart they are never applied to the previous ICE generation.
 */
import { withReceiverRtt } from '@robostream/protocol/client';
import type { SignalingClient } from '@robostream/protocol/client';
import { relaysLocally } from './media-stats.js';

export class OfferingPeer {
  private readonly queued: (RTCIceCandidateInit | null)[] = [];
  private readonly offs: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly client: SignalingClient,
    readonly sessionId: string,
    readonly pc: RTCPeerConnection,
    handlers: {
      /** An ICE restart is due: the robot asked, or a relayed path must move onto renewed TURN credentials. */
      onIceRestartNeeded: (why: string) => void;
      onSessionClosed: (reason: string, by: string) => void;
    },
  ) {
    pc.addEventListener('icecandidate', (e) => {
      if (this.closed) return;
      if (e.candidate) this.client.sendCandidate(sessionId, e.candidate.toJSON() as never);
      else this.client.sendEndOfCandidates(sessionId);
    });
    this.offs.push(
      client.on('answer', (m) => {
        if (m.sessionId === sessionId) void this.onAnswer(m.sdp);
      }),
      client.on('candidate', (m) => {
        if (m.sessionId === sessionId) void this.addRemote(m.candidate);
      }),
      client.on('end_of_candidates', (m) => {
        if (m.sessionId === sessionId) void this.addRemote(null);
      }),
      client.on('ice_restart', (m) => {
        if (m.sessionId === sessionId) handlers.onIceRestartNeeded('the robot asked for an ICE restart');
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
        if (m.sessionId === sessionId) handlers.onSessionClosed(m.reason, m.by);
      }),
    );
  }

  /** Creates and sends an offer (with fresh ICE credentials when `iceRestart`). False when signaling is down. */
  async negotiate(iceRestart = false): Promise<boolean> {
    const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : {});
    await this.pc.setLocalDescription({ type: 'offer', sdp: withReceiverRtt(offer.sdp ?? '') });
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp ?? '';
    return this.client.sendOffer(this.sessionId, sdp);
  }

  dispose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    this.client.closeSession(this.sessionId, reason);
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
