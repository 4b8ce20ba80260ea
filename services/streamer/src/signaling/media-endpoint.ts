// The robot's `media` endpoint: serves StreamerCore viewers on one or more signaling connections (the cloud
// service, the embedded direct-mode server). The signaling side of a session (ordering, held candidates, ICE
// restarts, reconnects) is the protocol package's RobotEndpointHost; this file says what a media session is: a
// viewer opened on the app's offer. Candidates trickle both ways, except for WHEP sessions (meta whep=true),
// whose answer carries every candidate. When signaling drops, viewers keep streaming (media never depends on
// signaling) and only die with their path.
import type { Logger } from 'pino';
import {
  RobotEndpointHost,
  type RobotSession,
  type SessionContext,
  type SignalingClient,
} from '@robostream/protocol/client';
import type { IceCandidate, RobotMeta } from '@robostream/protocol';
import type { IceServerConfig } from '../config.js';
import type { StreamerCore } from '../core/streamer-core.js';
import type { ViewerSession } from '../core/viewer-session.js';
import type { IceCandidateInit, PeerConnectionState } from '../transport/peer-session.js';
import { bundleTag, tagCandidate, type BundleTag } from '../transport/sdp.js';

const MEDIA_ENDPOINT = 'media';

export interface MediaEndpointOptions {
  /** Shown to apps in presence (meta.name). */
  name: string;
  /** Sessions past this many (over every connection) are rejected with 'too many viewers'. */
  maxViewers: number;
  log: Logger;
  /** A viewer 'disconnected' this long (or 'failed') asks the app for an ICE restart. */
  restartAfterDisconnectedMs?: number;
  /** A viewer that stays disconnected/failed this long after the last restart request is closed. */
  deadAfterMs?: number;
  /** Forces relay-only ICE for every viewer (tests; a robot that must never expose its addresses). */
  iceTransportPolicy?: 'all' | 'relay';
  /** Counts restart requests (metrics). */
  onIceRestartRequested?: () => void;
  /** A viewer opened or closed, with the app's token subject (the recorder's session events). */
  onViewer?: (event: 'viewer.open' | 'viewer.close', app: string, viewerId: string) => void;
}

export interface MediaSessionInfo {
  id: string;
  label: string;
  whep: boolean;
  signaled: boolean;
  iceRestartsRequested: number;
  viewerId: string | null;
}

/** One app's viewer: opened on the first offer, ICE-restarted on the later ones. */
class ViewerRobotSession implements RobotSession {
  viewer: ViewerSession | null = null;
  private tag: BundleTag | null = null;
  private gathered = false;
  private onGathered: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly core: StreamerCore,
    private readonly ctx: SessionContext,
    readonly whep: boolean,
    private readonly cameras: string[] | undefined,
    private readonly options: {
      iceTransportPolicy?: 'all' | 'relay';
      deadAfterMs: number;
      onViewer?: MediaEndpointOptions['onViewer'];
    },
  ) {}

  /** A WHEP player cannot renegotiate: nobody to ask for a restart. */
  get restartable(): boolean {
    return !this.whep;
  }

  get connectionState(): PeerConnectionState {
    return this.viewer?.connectionState ?? 'new';
  }

  async answer(offerSdp: string, restart: boolean): Promise<string> {
    let answerSdp: string;
    if (!restart) {
      const viewer = await this.core.openViewer(offerSdp, {
        id: `${this.ctx.label}-${this.ctx.sessionId}`,
        // The signaling connection's servers (fresh TURN credentials); STREAMER_ICE_SERVERS when it has none.
        ...(this.ctx.iceServers.length > 0 ? { iceServers: this.ctx.iceServers as IceServerConfig[] } : {}),
        ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
        ...(this.cameras ? { videoSources: this.cameras } : {}),
        failedGraceMs: this.options.deadAfterMs,
        // Without `talk` nothing the app sends is received, let alone decoded.
        appMedia: this.ctx.grants.includes('talk'),
        onIceCandidate: (c) => this.onLocalCandidate(c),
        // A WHEP answer carries every candidate; apps on the signaling protocol take the slow ones trickled.
        completeAnswer: this.whep,
      });
      if (this.closed) {
        await viewer.close();
        return viewer.answerSdp;
      }
      this.viewer = viewer;
      this.options.onViewer?.('viewer.open', this.ctx.app, viewer.id);
      viewer.onClose(() => {
        this.options.onViewer?.('viewer.close', this.ctx.app, viewer.id);
        if (viewer.closedByApp) this.ctx.ended('the app closed its connection', true);
        else this.ctx.ended('viewer closed');
      });
      viewer.onConnectionState((state) => this.ctx.connectionState(state));
      answerSdp = viewer.answerSdp;
    } else {
      const viewer = this.viewer;
      if (!viewer || viewer.isClosed) throw new Error('the viewer is gone');
      answerSdp = await viewer.restartIce(offerSdp);
    }
    this.tag = bundleTag(answerSdp);
    if (!this.whep) return answerSdp;
    // WHEP: one answer with every candidate in it.
    if (!this.gathered) await new Promise<void>((resolve) => (this.onGathered = resolve));
    return this.viewer?.localSdp ?? answerSdp;
  }

  addRemoteCandidate(candidate: IceCandidate | null): Promise<void> {
    return this.viewer?.addRemoteCandidate(candidate) ?? Promise.resolve();
  }

  /** With max-bundle, every candidate names the answer's tagged m-line. */
  outgoingCandidate(candidate: IceCandidate): IceCandidate {
    return tagCandidate(candidate, this.tag);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.onGathered?.();
    await this.viewer?.close();
  }

  private onLocalCandidate(c: IceCandidateInit | null): void {
    if (!this.whep) return this.ctx.localCandidate(c);
    // WHEP candidates go out inside the answer, not trickled.
    if (c !== null) return;
    this.gathered = true;
    this.onGathered?.();
  }
}

export class MediaEndpoint {
  private readonly host: RobotEndpointHost<ViewerRobotSession>;

  constructor(
    private readonly core: StreamerCore,
    private readonly options: MediaEndpointOptions,
  ) {
    const deadAfterMs = options.deadAfterMs ?? 15_000;
    const known = (): Set<string> => new Set(core.config.videoSources.map((v) => v.id));
    this.host = new RobotEndpointHost({
      endpoint: MEDIA_ENDPOINT,
      meta: () => this.meta(),
      maxSessions: options.maxViewers,
      tooManyReason: 'too many viewers',
      shutdownReason: 'robot shutting down',
      // Media never depends on signaling: an answered viewer streams on after the app's signaling is gone.
      outlivesAppSignaling: true,
      log: options.log,
      deadAfterMs,
      ...(options.restartAfterDisconnectedMs !== undefined
        ? { restartAfterDisconnectedMs: options.restartAfterDisconnectedMs }
        : {}),
      ...(options.onIceRestartRequested ? { onIceRestartRequested: options.onIceRestartRequested } : {}),
      createSession: (ctx) => {
        const meta = ctx.meta;
        const cameras =
          typeof meta?.cameras === 'string' ? meta.cameras.split(',').map((c) => c.trim()) : undefined;
        const unknown = cameras?.filter((c) => !known().has(c)) ?? [];
        if (unknown.length > 0) return { reject: `unknown camera: ${unknown.join(',')}` };
        const whep = meta?.whep === true || meta?.whep === 'true';
        return new ViewerRobotSession(core, ctx, whep, cameras, {
          deadAfterMs,
          ...(options.onViewer ? { onViewer: options.onViewer } : {}),
          ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
        });
      },
    });
  }

  /** What apps see in presence: {name, cameras, codecs}. */
  meta(): RobotMeta {
    const snapshot = this.core.introspect();
    return {
      name: this.options.name,
      cameras: this.core.config.videoSources.map((s) => s.id).join(','),
      codecs: snapshot.encoders.vp8 ? 'h264,vp8' : 'h264',
    };
  }

  get sessionCount(): number {
    return this.host.sessionCount;
  }

  list(): MediaSessionInfo[] {
    return this.host.list().map((s) => ({
      id: s.id,
      label: s.label,
      whep: s.session.whep,
      signaled: s.signaled,
      iceRestartsRequested: s.iceRestartsRequested,
      viewerId: s.session.viewer?.id ?? null,
    }));
  }

  /**
   * Serves sessions from one signaling connection and registers the endpoint on it (now, and after every
   * reconnect: the client re-registers by itself). `label` names the connection in logs and viewer ids.
   */
  attach(client: SignalingClient, label: string): Promise<void> {
    return this.host.attach(client, label);
  }

  /** Closes every session and viewer (SIGTERM); the signaling clients are closed by their owner. */
  close(): Promise<void> {
    return this.host.close();
  }
}
