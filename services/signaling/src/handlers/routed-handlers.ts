import { CloseCode } from '@robostream/protocol';
import type { RoutedMessage } from '../routing/routed-message.js';
import type { Connection, HandlerContext } from './context.js';

/** What a peer on this instance does with a message another peer (anywhere) routed to it. */
export class RoutedHandlers {
  constructor(private readonly ctx: HandlerContext) {}

  handle(peer: Connection, m: RoutedMessage): void {
    const sessions = this.ctx.sessions;
    switch (m.kind) {
      case 'session_request': {
        if (
          peer.claims?.role !== 'robot' ||
          peer.claims.sub !== m.robotId ||
          !peer.endpoints.has(m.endpoint)
        ) {
          this.ctx
            .deliver(m.from, { kind: 'undeliverable', sessionId: m.sessionId, from: peer.peerId })
            .catch(() => undefined); // Redis away: the app's side ends at its next message
          return;
        }
        // An endpoint that said so gets the app's opening offer with the request: it can answer right after it
        // accepts, a round trip to signaling sooner than when the offer follows the acceptance.
        const inRequest = m.offer !== undefined && peer.offerInRequest.has(m.endpoint);
        sessions.add(peer.peerId, {
          sessionId: m.sessionId,
          remote: m.from,
          side: 'robot',
          robotId: m.robotId,
          endpoint: m.endpoint,
          appSubject: m.app.subject,
          state: 'pending',
          heldOffer: inRequest ? undefined : m.offer,
          offerInRequest: inRequest,
        });
        peer.send({
          type: 'session_request',
          sessionId: m.sessionId,
          endpoint: m.endpoint,
          app: m.app,
          ...(m.meta ? { meta: m.meta } : {}),
          ...(inRequest ? { offer: m.offer } : {}),
        });
        return;
      }
      case 'session_accepted': {
        const s = this.own(peer, m.sessionId, m.from);
        if (!s) return;
        s.state = 'open';
        // Queued before the app hears of the acceptance, so its candidates cannot overtake the offer.
        sessions
          .relayOpeningOffer(peer.peerId, s, m.offerHanded === true)
          .then((ok) => ok || sessions.endLocally(peer, m.sessionId, 'robot is not reachable'))
          .catch(() => sessions.endLocally(peer, m.sessionId, 'robot is not reachable'));
        peer.send({ type: 'session_accepted', sessionId: m.sessionId });
        return;
      }
      case 'session_rejected': {
        if (!this.own(peer, m.sessionId, m.from)) return;
        sessions.remove(peer.peerId, m.sessionId);
        peer.send({ type: 'session_rejected', sessionId: m.sessionId, reason: m.reason });
        return;
      }
      case 'relay': {
        if (!this.own(peer, m.sessionId, m.from)) return;
        peer.send(m.msg);
        return;
      }
      case 'session_closed': {
        if (!this.own(peer, m.sessionId, m.from)) return;
        sessions.remove(peer.peerId, m.sessionId);
        peer.send({ type: 'session_closed', sessionId: m.sessionId, reason: m.reason, by: m.by });
        return;
      }
      case 'undeliverable': {
        if (!this.own(peer, m.sessionId, m.from)) return;
        sessions.endLocally(peer, m.sessionId, 'peer disconnected');
        return;
      }
      case 'kick':
        peer.log.info({ by: m.from }, 'replaced by a newer connection');
        // Its endpoints now belong to the newer connection; forgetting them keeps the close from unregistering them.
        this.ctx.metrics.presenceEndpoints.dec(peer.endpoints.size);
        peer.endpoints.clear();
        peer.offerInRequest.clear();
        peer.fail('replaced', m.reason, CloseCode.Replaced);
        return;
    }
  }

  /** The session exists on this peer and the message comes from its other side (never trust a session id alone). */
  private own(peer: Connection, sessionId: string, from: string) {
    const s = this.ctx.sessions.get(peer.peerId, sessionId);
    return s && s.remote === from ? s : undefined;
  }
}
