import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode, type RobotPresence } from '@robostream/protocol';
import { appMayReach, type TokenClaims } from '@robostream/protocol/auth';
import type { Config } from '../config/config.js';
import type { SignalingMetrics } from '../http/metrics.js';
import type { Router, PresenceChange } from '../routing/router.js';
import type { RoutedMessage } from '../routing/routed-message.js';
import { SessionTable } from '../sessions/session-table.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { MessageHandlers } from '../handlers/message-handlers.js';
import { RoutedHandlers } from '../handlers/routed-handlers.js';
import { Peer } from './peer.js';

/**
 * This instance's connections: creates peers, dispatches what the router delivers to them, fans presence
 * out to subscribed apps, and cleans up after a connection ends.
 */
export class Hub {
  readonly peers = new Map<string, Peer>();
  readonly sessions = new SessionTable();
  readonly handlers: MessageHandlers;
  private readonly routed: RoutedHandlers;
  private seq = 0;
  draining = false;

  constructor(
    readonly config: Config,
    readonly router: Router,
    readonly metrics: SignalingMetrics,
    readonly verifier: TokenVerifier,
    readonly log: Logger,
  ) {
    this.handlers = new MessageHandlers(this);
    this.routed = new RoutedHandlers(this);
    router.onMessage((to, m) => this.onRouted(to, m));
    router.onPresence((c) => this.onPresence(c));
    metrics.observe(() => ({ connectionsByRole: this.connectionsByRole(), sessions: this.sessions.size }));
  }

  /** Peers that are not WebSockets (a WHEP HTTP session): they get routed messages through a callback. */
  private readonly virtualPeers = new Map<string, (m: RoutedMessage) => void>();

  newPeerId(): string {
    return `${this.router.instanceId}.${(++this.seq).toString(36)}`;
  }

  addVirtualPeer(peerId: string, onMessage: (m: RoutedMessage) => void): () => void {
    this.virtualPeers.set(peerId, onMessage);
    return () => this.virtualPeers.delete(peerId);
  }

  accept(ws: WebSocket, ip: string): Peer {
    const peerId = this.newPeerId();
    const peer = new Peer(peerId, ws, ip, this, this.log);
    this.peers.set(peerId, peer);
    if (this.draining) peer.send({ type: 'goaway', reason: 'instance is shutting down', reconnectInMs: 0 });
    return peer;
  }

  /** Sends a routed message; counts it; false when nobody could take it. */
  async deliver(to: string, message: RoutedMessage): Promise<boolean> {
    const ok = await this.router.deliver(to, message);
    this.metrics.routed.inc({ kind: message.kind, outcome: ok ? 'sent' : 'no_instance' });
    return ok;
  }

  visibleRobots(claims: TokenClaims, all: RobotPresence[]): RobotPresence[] {
    return claims.role === 'app' ? all.filter((r) => appMayReach(claims, r.robotId)) : [];
  }

  /** Connection counts by role, for the metrics scrape (one pass over this instance's peers). */
  connectionsByRole(): Record<string, number> {
    const byRole = { robot: 0, app: 0, unauthenticated: 0 };
    for (const p of this.peers.values()) byRole[p.role ?? 'unauthenticated']++;
    return byRole;
  }

  async peerClosed(peer: Peer): Promise<void> {
    this.peers.delete(peer.peerId);
    for (const s of this.sessions.removePeer(peer.peerId)) {
      await this.deliver(s.remote, {
        kind: 'session_closed',
        sessionId: s.sessionId,
        from: peer.peerId,
        reason: 'peer disconnected',
        by: 'service',
      });
    }
    if (peer.claims?.role === 'robot') {
      for (const endpoint of peer.endpoints)
        await this.router.unregisterEndpoint(peer.claims.sub, endpoint, peer.peerId);
      this.metrics.presenceEndpoints.dec(peer.endpoints.size);
    }
    peer.log.info('disconnected');
  }

  /** Unauthenticated sockets also leave the map when they close. */
  forget(peer: Peer): void {
    if (peer.state !== 'ready') this.peers.delete(peer.peerId);
  }

  private onRouted(to: string, message: RoutedMessage): void {
    const virtual = this.virtualPeers.get(to);
    if (virtual) return virtual(message);
    const peer = this.peers.get(to);
    if (!peer || peer.state !== 'ready') {
      if ('sessionId' in message && message.kind !== 'undeliverable' && message.kind !== 'session_closed') {
        void this.deliver(message.from, { kind: 'undeliverable', sessionId: message.sessionId, from: to });
      }
      return;
    }
    this.routed.handle(peer, message);
  }

  private onPresence(change: PresenceChange): void {
    for (const peer of this.peers.values()) {
      if (
        !peer.presenceSubscribed ||
        peer.claims?.role !== 'app' ||
        !appMayReach(peer.claims, change.robotId)
      )
        continue;
      peer.send({ type: 'presence', ...change });
    }
  }

  /** SIGTERM: tell every client to reconnect elsewhere, give them the grace period, then close the rest. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    for (const p of this.peers.values())
      p.send({
        type: 'goaway',
        reason: 'instance is shutting down',
        reconnectInMs: Math.floor(Math.random() * 1000),
      });
    const deadline = Date.now() + graceMs;
    while (this.peers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const p of this.peers.values()) p.close(CloseCode.ServiceRestart, 'shutting down');
    // Let close handlers unregister endpoints and end sessions before the router stops.
    const settle = Date.now() + 1000;
    while (this.peers.size > 0 && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
  }
}
