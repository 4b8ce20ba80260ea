/**
 * A media connection made ready before the operator opens a robot, as a browser preconnects to a link under the
 * pointer: its transceivers added, its offer made and set (ICE gathering runs), so that the click only has to send
 * the offer. Making them took Chromium 20-40 ms after the click (up to 60 ms on a loaded 2-core machine), on the
 * path to the first frame (docs/web.md).
 *
 * One at a time, for the robot the operator is about to open: the first online robot as the list arrives, then the
 * one the pointer rests on, or that is pressed or focused (views/robot-list.ts). It is used only if the session wants exactly its shape (cameras, offer-camera)
 * with the same ICE servers; otherwise, after 30 s unused (its candidates may no longer fit the network), when TURN
 * credentials are renewed or signaling drops, it is closed and the session makes its own.
 * Costs while it waits: one idle peer connection, and a TURN allocation when the console has TURN servers.
 */
import type { SignalingClient } from '@robostream/protocol/client';
import { buildMediaPeer, shapeKey, type MediaPeer, type MediaShape } from './media-peer.js';
import { makeOffer, type PreparedOffer } from './offering-peer.js';

/** How long a prepared connection is kept unused. */
const MAX_AGE_MS = 30_000;

export interface PreparedMedia extends PreparedOffer {
  peer: MediaPeer;
}

interface Preparation {
  key: string;
  iceKey: string;
  peer: MediaPeer;
  early: (RTCIceCandidateInit | null)[];
  onCandidate: (e: RTCPeerConnectionIceEvent) => void;
  offer: Promise<string | null>;
  /** The offer once made (null: making it failed); undefined while it is being made. */
  made: string | null | undefined;
  expiry: ReturnType<typeof setTimeout>;
}

export class OfferPreparer {
  private current: Preparation | null = null;
  private readonly offs: (() => void)[];
  private disposed = false;

  constructor(
    private readonly client: Pick<SignalingClient, 'on' | 'state' | 'iceServers'>,
    private readonly maxAgeMs = MAX_AGE_MS,
  ) {
    this.offs = [
      client.on('ice_servers', () => this.discard()),
      client.on('state', (s) => {
        if (s !== 'ready') this.discard();
      }),
    ];
  }

  /** The shape prepared now (shapeKey), or null. */
  get preparedShape(): string | null {
    return this.current?.key ?? null;
  }

  /** Makes a connection of this shape ready, unless one is already. */
  prepare(shape: MediaShape): void {
    if (this.disposed || typeof RTCPeerConnection === 'undefined' || this.client.state !== 'ready') return;
    const key = shapeKey(shape);
    if (this.current?.key === key && this.current.iceKey === this.iceKey()) return;
    this.discard();
    let peer: MediaPeer;
    try {
      peer = buildMediaPeer(this.client.iceServers as RTCIceServer[], shape);
    } catch {
      return; // the session will meet (and report) the same failure
    }
    const early: (RTCIceCandidateInit | null)[] = [];
    const onCandidate = (e: RTCPeerConnectionIceEvent): void => {
      early.push(e.candidate ? (e.candidate.toJSON() as RTCIceCandidateInit) : null);
    };
    peer.pc.addEventListener('icecandidate', onCandidate);
    const prep: Preparation = {
      key,
      iceKey: this.iceKey(),
      peer,
      early,
      onCandidate,
      offer: makeOffer(peer.pc, false).catch(() => null),
      made: undefined,
      expiry: setTimeout(() => {
        if (this.current === prep) this.discard();
      }, this.maxAgeMs),
    };
    void prep.offer.then((sdp) => (prep.made = sdp));
    this.current = prep;
  }

  /**
   * take() without waiting, for the click: the prepared connection when its offer is made (as it is by the time an
   * operator clicks), so that the session request leaves inside the click's own task, before the console builds
   * and renders the robot's view (an await there put 8-80 ms of that work before the request on a loaded 2-core
   * machine). Null: none of this shape, make a new one. Undefined: its offer is still being made, await take().
   */
  takeNow(shape: MediaShape): PreparedMedia | null | undefined {
    const prep = this.current;
    if (!prep) return null;
    if (prep.key !== shapeKey(shape) || prep.iceKey !== this.iceKey()) {
      this.discard();
      return null;
    }
    if (prep.made === undefined) return undefined;
    this.current = null;
    clearTimeout(prep.expiry);
    return handOver(prep, prep.made);
  }

  /**
   * The prepared connection, if it is of this shape and current; it is the caller's from then on (its offer not
   * yet sent, its early candidates to trickle once the robot accepted). Null: make a new one.
   */
  async take(shape: MediaShape): Promise<PreparedMedia | null> {
    const now = this.takeNow(shape);
    if (now !== undefined) return now;
    const prep = this.current!;
    this.current = null;
    clearTimeout(prep.expiry);
    return handOver(prep, await prep.offer);
  }

  /** Closes what is prepared (nothing is sent: the robot never knew of it). */
  discard(): void {
    const prep = this.current;
    if (!prep) return;
    this.current = null;
    clearTimeout(prep.expiry);
    prep.peer.pc.removeEventListener('icecandidate', prep.onCandidate);
    prep.peer.pc.close();
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.offs.splice(0)) off();
    this.discard();
  }

  private iceKey(): string {
    return JSON.stringify(this.client.iceServers);
  }
}

/** The prepared connection becomes the caller's, or is closed when its offer could not be made or set. */
function handOver(prep: Preparation, offer: string | null): PreparedMedia | null {
  // The caller listens for candidates from here on: no task (and so no icecandidate event) runs in between.
  prep.peer.pc.removeEventListener('icecandidate', prep.onCandidate);
  if (offer === null || prep.peer.pc.signalingState !== 'have-local-offer') {
    prep.peer.pc.close();
    return null;
  }
  return { peer: prep.peer, offer, early: prep.early };
}
