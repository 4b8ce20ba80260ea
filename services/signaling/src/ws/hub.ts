import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode, closedForGood, type ClientMessage } from '@robostream/protocol';
import { appMayReach } from '@robostream/protocol/auth';
import type { HandlerContext } from '../handlers/context.js';
import { MessageHandlers } from '../handlers/message-handlers.js';
import { RoutedHandlers } from '../handlers/routed-handlers.js';
import type { SignalingMetrics } from '../http/metrics.js';
import type { PresenceChange } from '../routing/router.js';
import type { RoutedMessage } from '../routing/routed-message.js';
import { LogThrottle } from '../logging/log-throttle.js';
import { Peer } from './peer.js';

/**
 * This instance's connections: creates peers, hands their messages to the handlers, dispatches what the router
 * delivers to them, fans presence out to subscribed apps, and cleans up after a connection ends.
 */
export class Hub {
  readonly peers = new Map<string, Peer>();
  private readonly handlers: MessageHandlers;
  private readonly routed: RoutedHandlers;
  /** Peers that are not WebSockets (a WHEP HTTP session): they get routed messages through a callback. */
  private readonly virtualPeers = new Map<string, (m: RoutedMessage) => void>();
  private seq = 0;
  private readonly unavailableLog = new LogThrottle(10_000);
  draining = false;

  constructor(
    private readonly ctx: Omit<HandlerContext, 'isDraining'>,
    private readonly metrics: SignalingMetrics,
    private readonly log: Logger,
  ) {
    const handlerContext: HandlerContext = { ...ctx, isDraining: () => this.draining };
    this.handlers = new MessageHandlers(handlerContext);
    this.routed = new RoutedHandlers(handlerContext);
    ctx.router.onMessage((to, m) => this.onRouted(to, m));
    ctx.router.onPresence((c) => this.onPresence(c));
    metrics.observe(() => ({ connectionsByRole: this.connectionsByRole(), sessions: ctx.sessions.size }));
  }

  get instanceId(): string {
    return this.ctx.router.instanceId;
  }

  newPeerId(): string {
    return `${this.ctx.router.instanceId}.${(++this.seq).toString(36)}`;
  }

  addVirtualPeer(peerId: string, onMessage: (m: RoutedMessage) => void): () => void {
    this.virtualPeers.set(peerId, onMessage);
    return () => this.virtualPeers.delete(peerId);
  }

  accept(ws: WebSocket, ip: string): Peer {
    const peerId = this.newPeerId();
    const peer = new Peer(peerId, ws, ip, {
      limits: this.ctx.limits,
      metrics: this.metrics,
      log: this.log,
      unavailableLog: this.unavailableLog,
      dispatch: (p, msg) => this.dispatch(p, msg),
      closed: (p, wasReady, code, reason) => {
        if (wasReady)
          this.peerClosed(p, code, reason).catch((err: unknown) =>
            p.log.warn({ err: (err as Error).message }, 'cleanup after disconnect failed'),
          );
        else this.peers.delete(p.peerId);
      },
    });
    this.peers.set(peerId, peer);
    if (this.draining) peer.send({ type: 'goaway', reason: 'instance is shutting down', reconnectInMs: 0 });
    return peer;
  }

  private dispatch(peer: Peer, msg: ClientMessage): Promise<void> {
    return msg.type === 'authenticate'
      ? this.handlers.authenticate(peer, msg)
      : this.handlers.handle(peer, msg);
  }

  /** Connection counts by role, for the metrics scrape (one pass over this instance's peers). */
  connectionsByRole(): Record<string, number> {
    const byRole = { robot: 0, app: 0, unauthenticated: 0 };
    for (const p of this.peers.values()) byRole[p.role ?? 'unauthenticated']++;
    return byRole;
  }

  private async peerClosed(peer: Peer, code: number, reason: string): Promise<void> {
    this.peers.delete(peer.peerId);
    // An app that closed for good (its page went away, or it closed its client) has left: its sessions end, as if
    // it had closed each (its own session_close may not have gone out: a browser tearing a page down can drop
    // what the page sent last). Otherwise (dropped, reconnecting) they are left to run without signaling.
    if (peer.claims?.role === 'app' && closedForGood(code, reason))
      await this.ctx.sessions.closePeer(peer.peerId, 'the app left', 'peer');
    else await this.ctx.sessions.closePeer(peer.peerId, 'peer disconnected');
    if (peer.claims?.role === 'robot') {
      for (const endpoint of peer.endpoints)
        await this.ctx.router.unregisterEndpoint(peer.claims.sub, endpoint, peer.peerId);
      this.metrics.presenceEndpoints.dec(peer.endpoints.size);
    }
    peer.log.info({ code, reason }, 'disconnected');
  }

  private onRouted(to: string, message: RoutedMessage): void {
    const virtual = this.virtualPeers.get(to);
    if (virtual) return virtual(message);
    const peer = this.peers.get(to);
    if (!peer || peer.state !== 'ready') {
      // WHEP's instance-to-instance requests and replies are nobody's session: an absent addressee needs no answer.
      const answerable =
        message.kind !== 'undeliverable' &&
        message.kind !== 'session_closed' &&
        message.kind !== 'whep_delete' &&
        message.kind !== 'whep_deleted';
      if ('sessionId' in message && answerable) {
        this.ctx
          .deliver(message.from, { kind: 'undeliverable', sessionId: message.sessionId, from: to })
          .catch(() => undefined); // Redis away: the sender learns at its next message
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
