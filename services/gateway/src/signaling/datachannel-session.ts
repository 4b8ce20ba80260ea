/**
 * One app's data-channel session through signaling, as RobotEndpointHost drives it: a werift peer connection
 * whose channels (created by the app before its offer) become a DataChannelAppLink, attached to the hub once the
 * reliable channel is open. The host does the signaling; this class does the peer connection and the link.
 */
import { RTCPeerConnection, type RTCIceServer } from 'werift';
import type { IceCandidate } from '@robostream/protocol';
import { withoutImplicitStun } from '@robostream/protocol/ice-server-probe';
import {
  BadOfferError,
  badOffer,
  checkOffer,
  type PeerState,
  type RobotSession,
  type SessionContext,
  type SessionEnd,
} from '@robostream/protocol/client';
import type { GatewayMetrics } from '../hub/metrics.js';
import type { AppLink } from '../links/app-link.js';
import { DataChannelAppLink } from '../links/datachannel-app-link.js';
import { startDtlsAtOnce } from './werift-dtls-start.js';
import { permitOwnRelayIps } from './werift-turn-self-permission.js';
import { useNativeX25519 } from './werift-native-x25519.js';
import { repairForwardTsn } from './werift-forward-tsn.js';

// The DTLS key exchange in OpenSSL, not in JavaScript on the main thread.
useNativeX25519();

/** A peer connection whose reliable channel is not open by then is given up (the app vanished mid-setup). */
const SETUP_TIMEOUT_MS = 30_000;

/** How the host's reasons to end a session become link close codes. */
const CLOSE_CODE: Record<SessionEnd['cause'], number> = {
  app: 1000,
  signaling: 1000,
  shutdown: 1001,
  failed: 1011,
};

export interface DataChannelSessionOptions {
  iceTransportPolicy: 'all' | 'relay';
  /** Tests and same-host setups: also gather loopback host candidates. */
  includeLoopback: boolean;
  highWaterBytes: number;
  /** gateway.attachLink, called without claims. */
  attachLink: (link: AppLink) => string;
  metrics: GatewayMetrics;
  /** After the host has forgotten the session (the sessions gauge). */
  onEnded: () => void;
}

export class DataChannelSession implements RobotSession {
  readonly restartable = true;
  readonly link: DataChannelAppLink;
  private readonly pc: RTCPeerConnection;
  private linkId: string | null = null;
  private setupTimer: NodeJS.Timeout | null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly o: DataChannelSessionOptions,
  ) {
    this.pc = new RTCPeerConnection({
      // From signaling: TURN REST credentials (werift's implicit public STUN host is left out in answer()).
      iceServers: ctx.iceServers.map((s) => ({ ...s }) as RTCIceServer),
      iceTransportPolicy: o.iceTransportPolicy,
      // One transport for everything: a single TURN allocation.
      bundlePolicy: 'max-bundle',
      ...(o.includeLoopback ? { iceAdditionalHostAddresses: ['127.0.0.1'] } : {}),
    });
    const link = new DataChannelAppLink(this.pc, `session:${ctx.sessionId}`, o.highWaterBytes);
    this.link = link;

    this.pc.onIceCandidate.subscribe((c) => {
      if (!c) return;
      ctx.localCandidate({
        candidate: c.candidate,
        sdpMid: c.sdpMid ?? null,
        sdpMLineIndex: c.sdpMLineIndex ?? null,
      });
    });
    this.pc.iceGatheringStateChange.subscribe((g) => {
      if (g === 'complete') ctx.localCandidate(null);
    });
    this.pc.connectionStateChange.subscribe((state) => {
      ctx.log.debug({ state }, 'peer connection state');
      if (state === 'connected') o.metrics.datachannelSessionsTotal.inc({ event: 'connected' });
      // A failed peer connection ends the link (and the session): nothing is left to restart.
      if (state === 'failed') o.metrics.datachannelSessionsTotal.inc({ event: 'failed' });
      else ctx.connectionState(state);
    });

    this.setupTimer = setTimeout(() => {
      ctx.log.warn({}, 'data channels not open in time; giving up the session');
      link.close(1000, 'setup timeout');
    }, SETUP_TIMEOUT_MS);
    this.setupTimer.unref();

    void link.opened().then((ok) => {
      this.clearSetupTimer();
      if (!ok) return;
      // No claims: the app's first frame on gateway-reliable is `auth` with its own token.
      this.linkId = o.attachLink(link);
      ctx.log.info({ link: this.linkId }, 'data-channel link attached');
    });
    void link.ended().then((reason) => {
      this.clearSetupTimer();
      // The host tells the app through signaling too (when still possible): it may wait on its own ICE state.
      ctx.ended(reason, link.closedByApp);
      o.onEnded();
      o.metrics.datachannelSessionsTotal.inc({ event: 'closed' });
      ctx.log.info({ reason, link: this.linkId }, 'data-channel session ended');
    });
  }

  get connectionState(): PeerState {
    return this.pc.connectionState;
  }

  async answer(offerSdp: string, restart: boolean): Promise<string> {
    // A second offer in the same session is the app's ICE restart: same DTLS/SCTP, new ICE credentials.
    if (restart) {
      this.o.metrics.datachannelSessionsTotal.inc({ event: 'ice_restart' });
      this.ctx.log.info({}, 'ICE restart (new offer)');
    }
    checkOffer(offerSdp);
    if (!/^m=application /m.test(offerSdp))
      throw new BadOfferError('the offer has no data channel section (m=application)');
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    } catch (err) {
      throw badOffer('the offer cannot be applied', err);
    }
    // The SCTP association exists from here on; werift's FORWARD TSN handling loses reliable data without this.
    this.repairSctp();
    for (const dtls of this.pc.dtlsTransports) startDtlsAtOnce(dtls);
    // werift refuses some applied offers only here (e.g. two mids in one section: "sctpTransport not found").
    try {
      const answer = await this.pc.createAnswer();
      withoutImplicitStun(this.pc, this.ctx.iceServers);
      await this.pc.setLocalDescription(answer);
    } catch (err) {
      throw badOffer('the offer cannot be answered', err);
    }
    const local = this.pc.localDescription;
    if (!local) throw new Error('no local description after setLocalDescription');
    permitOwnRelayIps(this.pc);
    return local.sdp;
  }

  async addRemoteCandidate(c: IceCandidate | null): Promise<void> {
    if (!c) return this.pc.addIceCandidate(null);
    await this.pc.addIceCandidate({
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? undefined,
      sdpMLineIndex: c.sdpMLineIndex ?? undefined,
    });
  }

  async close(end: SessionEnd): Promise<void> {
    this.link.close(CLOSE_CODE[end.cause], end.cause === 'shutdown' ? 'shutting_down' : end.reason);
    await this.link.ended();
  }

  private repairSctp(): void {
    const sctp = (this.pc.sctpTransport as { sctp?: unknown } | undefined)?.sctp;
    if (sctp === undefined || repairForwardTsn(sctp)) return;
    this.ctx.log.warn({}, "werift's SCTP is not the expected version: FORWARD TSN handling left unrepaired");
  }

  private clearSetupTimer(): void {
    if (this.setupTimer) clearTimeout(this.setupTimer);
    this.setupTimer = null;
  }
}
