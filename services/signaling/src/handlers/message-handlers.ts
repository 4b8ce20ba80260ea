import {
  CloseCode,
  type ClientMessage,
  type ClientMessageOf,
  type SessionRelayType,
} from '@robostream/protocol';
import { appMayReach, tokenRefusal } from '@robostream/protocol/auth';
import type { Connection, HandlerContext } from './context.js';

type Msg<T extends ClientMessage['type']> = ClientMessageOf<T>;
const RELAY: ReadonlySet<string> = new Set<SessionRelayType>([
  'offer',
  'answer',
  'candidate',
  'end_of_candidates',
  'ice_restart',
]);

/** What the service does with each client message, once the frame is valid and the peer authenticated. */
export class MessageHandlers {
  constructor(private readonly ctx: HandlerContext) {}

  async authenticate(peer: Connection, msg: Msg<'authenticate'>): Promise<void> {
    let claims;
    try {
      claims = await this.ctx.verifier.verify(msg.token);
    } catch (err) {
      const refusal = tokenRefusal(err);
      peer.log.info({ code: refusal.code, ip: peer.ip }, 'authentication refused');
      return peer.fail(refusal.code, refusal.message, CloseCode.Unauthorized, msg.ref);
    }
    if (peer.state === 'closed') return;
    peer.authenticated(claims);
    const ice = this.ctx.iceServersFor(claims.sub);
    const l = this.ctx.limits;
    peer.send({
      type: 'welcome',
      ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
      protocol: 1,
      peerId: peer.peerId,
      instanceId: this.ctx.router.instanceId,
      role: claims.role,
      subject: claims.sub,
      iceServers: ice.iceServers,
      iceServersExpireAt: ice.expiresAt,
      tokenExpiresAt: claims.exp * 1000,
      limits: {
        maxMessageBytes: l.maxMessageBytes,
        messagesPerSecond: l.messagesPerSecond,
        burst: l.burst,
        maxSessions: l.maxSessionsPerApp,
      },
    });
    peer.log.info({ client: msg.client, ip: peer.ip }, 'authenticated');
  }

  async handle(peer: Connection, msg: ClientMessage): Promise<void> {
    if (RELAY.has(msg.type)) return this.relay(peer, msg as Msg<SessionRelayType>);
    switch (msg.type) {
      case 'ping':
        return peer.send({
          type: 'pong',
          ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
          ...(msg.t !== undefined ? { t: msg.t } : {}),
          serverTime: Date.now(),
        });
      case 'refresh_ice_servers': {
        const ice = this.ctx.iceServersFor(peer.claims!.sub);
        return peer.send({
          type: 'ice_servers',
          ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
          iceServers: ice.iceServers,
          iceServersExpireAt: ice.expiresAt,
        });
      }
      case 'register':
        return this.register(peer, msg);
      case 'unregister':
        return this.unregister(peer, msg);
      case 'list_robots':
      case 'subscribe_presence':
        return this.presence(peer, msg);
      case 'unsubscribe_presence':
        peer.presenceSubscribed = false;
        return peer.send({ type: 'unsubscribed', ...(msg.ref !== undefined ? { ref: msg.ref } : {}) });
      case 'session_open':
        return this.open(peer, msg);
      case 'session_accept':
      case 'session_reject':
        return this.answerRequest(peer, msg);
      case 'session_close':
        return this.close(peer, msg);
      default:
        return peer.error('unknown_type', `${msg.type} is not valid here`, msg.ref);
    }
  }

  private requireRole(peer: Connection, role: 'robot' | 'app', msg: { type: string; ref?: string }): boolean {
    if (peer.role === role) return true;
    peer.error('wrong_role', `${msg.type} is for ${role} connections`, msg.ref);
    return false;
  }

  /**
   * A robot endpoint belongs to one connection. A second connection registering the same robot id and endpoint
   * takes it over and the first is closed with `replaced` (4409): after a network change the old socket is
   * usually half-open, and the newest connection is the one that works.
   */
  private async register(peer: Connection, msg: Msg<'register'>): Promise<void> {
    if (!this.requireRole(peer, 'robot', msg)) return;
    const robotId = peer.claims!.sub;
    if (this.ctx.isDraining()) return peer.error('shutting_down', 'instance is draining; reconnect', msg.ref);
    const previous = await this.ctx.router.registerEndpoint(robotId, msg.endpoint, {
      peerId: peer.peerId,
      since: Date.now(),
      ...(msg.meta ? { meta: msg.meta } : {}),
    });
    if (!peer.endpoints.has(msg.endpoint)) this.ctx.metrics.presenceEndpoints.inc();
    peer.endpoints.add(msg.endpoint);
    if (msg.offerInRequest === true) peer.offerInRequest.add(msg.endpoint);
    else peer.offerInRequest.delete(msg.endpoint);
    if (previous) {
      peer.log.info({ endpoint: msg.endpoint, previous }, 'endpoint taken over from an older connection');
      await this.ctx.deliver(previous, {
        kind: 'kick',
        from: peer.peerId,
        reason: `robot endpoint ${msg.endpoint} registered by a newer connection`,
      });
    }
    peer.send({
      type: 'registered',
      ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
      robotId,
      endpoint: msg.endpoint,
    });
  }

  private async unregister(peer: Connection, msg: Msg<'unregister'>): Promise<void> {
    if (!this.requireRole(peer, 'robot', msg)) return;
    const robotId = peer.claims!.sub;
    peer.offerInRequest.delete(msg.endpoint);
    if (peer.endpoints.delete(msg.endpoint)) {
      this.ctx.metrics.presenceEndpoints.dec();
      await this.ctx.router.unregisterEndpoint(robotId, msg.endpoint, peer.peerId);
    }
    peer.send({
      type: 'unregistered',
      ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
      robotId,
      endpoint: msg.endpoint,
    });
  }

  private async presence(
    peer: Connection,
    msg: Msg<'list_robots'> | Msg<'subscribe_presence'>,
  ): Promise<void> {
    if (!this.requireRole(peer, 'app', msg)) return;
    // Subscribe before listing so that no change between the two is missed (a duplicate is harmless).
    if (msg.type === 'subscribe_presence') peer.presenceSubscribed = true;
    const claims = peer.claims!;
    let all;
    try {
      all = await this.ctx.router.listRobots();
    } catch (err) {
      // No snapshot, no subscription: the client is told (unavailable) and subscribes again.
      if (msg.type === 'subscribe_presence') peer.presenceSubscribed = false;
      throw err;
    }
    const robots = claims.role === 'app' ? all.filter((r) => appMayReach(claims, r.robotId)) : [];
    const ref = msg.ref !== undefined ? { ref: msg.ref } : {};
    peer.send(
      msg.type === 'list_robots'
        ? { type: 'robots', ...ref, robots }
        : { type: 'subscribed', ...ref, robots },
    );
  }

  private async open(peer: Connection, msg: Msg<'session_open'>): Promise<void> {
    if (!this.requireRole(peer, 'app', msg)) return;
    const claims = peer.claims!;
    if (claims.role !== 'app') return;
    const ref = msg.ref !== undefined ? { ref: msg.ref } : {};
    const opened = await this.ctx.sessions.open(
      {
        peerId: peer.peerId,
        claims,
        robotId: msg.robotId,
        endpoint: msg.endpoint,
        ...(msg.meta ? { meta: msg.meta } : {}),
        ...(msg.offer !== undefined ? { offer: msg.offer } : {}),
      },
      ({ sessionId }) =>
        peer.send({
          type: 'session_created',
          ...ref,
          sessionId,
          robotId: msg.robotId,
          endpoint: msg.endpoint,
        }),
    );
    if (!opened.ok) return peer.error(opened.code, opened.message, msg.ref);
    if (!opened.delivered) this.ctx.sessions.endLocally(peer, opened.sessionId, 'robot is not reachable');
    peer.log.info(
      { sessionId: opened.sessionId, robotId: msg.robotId, endpoint: msg.endpoint },
      'session requested',
    );
  }

  private async answerRequest(
    peer: Connection,
    msg: Msg<'session_accept'> | Msg<'session_reject'>,
  ): Promise<void> {
    if (!this.requireRole(peer, 'robot', msg)) return;
    const s = this.ctx.sessions.get(peer.peerId, msg.sessionId);
    if (!s || s.state !== 'pending')
      return peer.error('unknown_session', `no pending session ${msg.sessionId} on this connection`, msg.ref);
    if (msg.type === 'session_accept') {
      s.state = 'open';
      peer.send({
        type: 'session_accepted',
        ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
        sessionId: s.sessionId,
      });
      // The offer the app opened with went to the robot with its request, or follows the acceptance on the same
      // socket, so the robot has the session when it comes; the app's candidates can only follow (they wait for its
      // session_accepted).
      const offer = s.heldOffer;
      const offerHanded = s.offerInRequest || offer !== undefined;
      if (offer !== undefined) {
        peer.send({ type: 'offer', sessionId: s.sessionId, sdp: offer });
        s.heldOffer = undefined;
      }
      if (
        !(await this.ctx.deliver(s.remote, {
          kind: 'session_accepted',
          sessionId: s.sessionId,
          from: peer.peerId,
          ...(offerHanded ? { offerHanded } : {}),
        }))
      ) {
        this.ctx.sessions.endLocally(peer, s.sessionId, 'app is not reachable');
      }
    } else {
      this.ctx.sessions.remove(peer.peerId, s.sessionId);
      await this.ctx.deliver(s.remote, {
        kind: 'session_rejected',
        sessionId: s.sessionId,
        from: peer.peerId,
        reason: msg.reason,
      });
    }
  }

  private async relay(peer: Connection, msg: Msg<SessionRelayType>): Promise<void> {
    const s = this.ctx.sessions.get(peer.peerId, msg.sessionId);
    if (!s) return peer.error('unknown_session', `no session ${msg.sessionId} on this connection`, msg.ref);
    if (s.state !== 'open')
      return peer.error('unknown_session', `session ${msg.sessionId} is not accepted yet`, msg.ref);
    // The ref is the sender's business; the other side gets the message without it. Most relayed messages (the
    // candidates) carry none: they go as they are, without a copy per message.
    const clean = msg.ref === undefined ? msg : withoutRef(msg);
    if (
      !(await this.ctx.deliver(s.remote, {
        kind: 'relay',
        sessionId: s.sessionId,
        from: peer.peerId,
        msg: clean,
      }))
    ) {
      this.ctx.sessions.endLocally(peer, s.sessionId, 'peer is not reachable');
    }
  }

  private async close(peer: Connection, msg: Msg<'session_close'>): Promise<void> {
    const s = this.ctx.sessions.remove(peer.peerId, msg.sessionId);
    if (!s) return peer.error('unknown_session', `no session ${msg.sessionId} on this connection`, msg.ref);
    peer.send({
      type: 'session_closed',
      ...(msg.ref !== undefined ? { ref: msg.ref } : {}),
      sessionId: s.sessionId,
      reason: msg.reason,
      by: 'self',
    });
    await this.ctx.deliver(s.remote, {
      kind: 'session_closed',
      sessionId: s.sessionId,
      from: peer.peerId,
      reason: msg.reason,
      by: 'peer',
    });
  }
}

/** The message without its `ref` (optional in every message, so what is left is still an M). */
function withoutRef<M extends { ref?: string }>(msg: M): M {
  const { ref: _ref, ...rest } = msg;
  return rest as M;
}
