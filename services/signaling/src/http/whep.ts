import fastifyCors from '@fastify/cors';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { RobotId, SessionId } from '@robostream/protocol';
import { appMayReach, tokenRefusal, type AppClaims } from '@robostream/protocol/auth';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { Deliver } from '../routing/delivery.js';
import type { RoutedMessage } from '../routing/routed-message.js';
import { RouterUnavailableError } from '../routing/router.js';
import type { SessionService } from '../sessions/session-service.js';
import { sessionInstance } from '../sessions/session-table.js';
import type { SignalingMetrics } from './metrics.js';
import { RobotReplies, WhepError, type WhepErrorCode } from './whep-replies.js';

/** How long a DELETE waits for the instance holding the session to answer. */
const REMOTE_TIMEOUT_MS = 5_000;

const STATUS: Partial<Record<WhepErrorCode, number>> = {
  token_invalid: 401,
  token_expired: 401,
  wrong_role: 403,
  forbidden: 403,
  robot_offline: 404,
  unknown_session: 404,
  session_limit: 429,
  rejected: 409,
  timeout: 504,
  bad_content_type: 415,
  bad_message: 400,
  unavailable: 503,
};

interface WhepSession {
  sessionId: string;
  robotId: string;
  subject: string;
  peerId: string;
  robotPeer: string;
  release: () => void;
}

/** Where WHEP sessions live as peers: ids from this instance, and routed messages through a callback. */
export interface VirtualPeers {
  readonly instanceId: string;
  newPeerId(): string;
  addVirtualPeer(peerId: string, onMessage: (m: RoutedMessage) => void): () => void;
}

export interface WhepOptions {
  sessions: SessionService;
  verifier: TokenVerifier;
  peers: VirtualPeers;
  deliver: Deliver;
  metrics: Pick<SignalingMetrics, 'errors'>;
  answerTimeoutMs?: number;
  corsOrigins?: '*' | string[];
}

/** The peer id of an instance's WHEP endpoint, where other instances send the requests about its sessions. */
function whepEndpointOf(instanceId: string): string {
  return `${instanceId}.whep`;
}

/**
 * WHEP (RFC 9725), view-only, relayed to the robot's `media` endpoint: the HTTP request becomes a session with
 * meta {whep: true} whose app side is a virtual peer on this instance. Without trickle (PATCH answers 405), the
 * robot puts its candidates in the answer. The session lives until DELETE, or until the robot ends it.
 *
 * The session is held by the instance that took the POST, and its id names that instance. Behind a load balancer
 * without stickiness the DELETE may reach another instance: that one checks the token and routes the request to
 * the holder's WHEP endpoint (a virtual peer, `<instanceId>.whep`), which ends the session and answers.
 */
export async function whepRoutes(app: FastifyInstance, opts: WhepOptions) {
  const { sessions: sessionService, peers, deliver } = opts;
  // Browser WHEP players live on other origins. Registered inside this plugin, so only the WHEP routes answer
  // CORS; the app's Location/ETag/Link headers must be exposed for a player to DELETE its session.
  await app.register(fastifyCors, {
    origin: opts.corsOrigins ?? '*',
    methods: ['POST', 'DELETE', 'PATCH', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match'],
    exposedHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch'],
    maxAge: 600,
  });
  const timeoutMs = opts.answerTimeoutMs ?? 15_000;
  const sessions = new Map<string, WhepSession>();
  const Params = Type.Object({ robotId: RobotId });
  const SessionParams = Type.Object({ robotId: RobotId, sessionId: SessionId });

  app.addContentTypeParser(
    'application/sdp',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, body),
  );
  // Any other body reaches the handlers, which answer for themselves: a trickle PATCH
  // (application/trickle-ice-sdpfrag) gets its 405, a POST of something else its typed 415.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, _body, done) =>
    done(null, undefined),
  );

  async function authenticate(header: string | undefined, robotId: string): Promise<AppClaims> {
    const token = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '')?.[1];
    if (!token)
      throw new WhepError('token_invalid', 'an Authorization: Bearer <app token> header is required');
    let claims;
    try {
      claims = await opts.verifier.verify(token);
    } catch (err) {
      const refusal = tokenRefusal(err);
      throw new WhepError(refusal.code, refusal.message);
    }
    if (claims.role !== 'app') throw new WhepError('wrong_role', 'WHEP needs an app token');
    if (!appMayReach(claims, robotId))
      throw new WhepError('forbidden', `this token does not grant robot ${robotId}`);
    return claims;
  }

  function fail(reply: FastifyReply, err: unknown) {
    if (err instanceof RouterUnavailableError)
      err = new WhepError('unavailable', 'signaling cannot reach Redis; retry shortly');
    if (err instanceof WhepError) {
      opts.metrics.errors.inc({ code: err.code });
      return reply.code(STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
    }
    throw err;
  }

  app.post('/:robotId/whep', { schema: { params: Params } }, async (req, reply) => {
    const { robotId } = req.params as { robotId: string };
    try {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/sdp')) {
        throw new WhepError('bad_content_type', 'the offer must be sent as application/sdp');
      }
      const offer = req.body;
      if (typeof offer !== 'string' || !offer.startsWith('v=0'))
        throw new WhepError('bad_message', 'the body is not an SDP offer');
      const claims = await authenticate(req.headers.authorization, robotId);
      const peerId = peers.newPeerId();
      const replies = new RobotReplies(timeoutMs);
      const end = (sessionId: string) => {
        const s = sessions.get(sessionId);
        sessions.delete(sessionId);
        s?.release();
        sessionService.remove(peerId, sessionId);
      };
      // The viewer is a virtual peer from the moment its session exists, so that no robot reply is missed.
      const opened = await sessionService.open(
        { peerId, claims, robotId, endpoint: 'media', meta: { whep: true }, offer },
        ({ sessionId, robotPeer }) => {
          const release = peers.addVirtualPeer(peerId, (m) => {
            if (m.from !== robotPeer) return;
            if (m.kind === 'session_closed' || m.kind === 'undeliverable' || m.kind === 'session_rejected')
              end(sessionId);
            replies.push(m);
          });
          sessions.set(sessionId, { sessionId, robotId, subject: claims.sub, peerId, robotPeer, release });
        },
      );
      if (!opened.ok) throw new WhepError(opened.code, opened.message);
      const { sessionId } = opened;
      try {
        if (!opened.delivered) throw new WhepError('robot_offline', `robot ${robotId} is not reachable`);
        // The offer went with the request: the robot's instance hands it over as the robot accepts.
        const accepted = await replies.next((m) => m.kind === 'session_accepted');
        const entry = sessionService.get(peerId, sessionId);
        const handed = accepted.kind === 'session_accepted' && accepted.offerHanded === true;
        if (entry && !(await sessionService.relayOpeningOffer(peerId, entry, handed)))
          throw new WhepError('robot_offline', `robot ${robotId} is not reachable`);
        const answer = await replies.next((m) => m.kind === 'relay' && m.msg.type === 'answer');
        if (answer.kind !== 'relay' || answer.msg.type !== 'answer')
          throw new WhepError('timeout', 'no answer');
        req.log.info({ sessionId, robotId, sub: claims.sub }, 'whep session started');
        return reply
          .code(201)
          .header('content-type', 'application/sdp')
          .header('location', `/v1/robots/${robotId}/whep/${sessionId}`)
          .send(answer.msg.sdp);
      } catch (err) {
        if (sessions.has(sessionId)) {
          await sessionService.close(peerId, sessionId, 'whep request failed');
          end(sessionId);
        }
        throw err;
      } finally {
        replies.finish();
      }
    } catch (err) {
      return fail(reply, err);
    }
  });

  /** Ends a session this instance holds; false when it does not hold it for this robot and subject. */
  async function endHere(sessionId: string, robotId: string, subject: string): Promise<boolean> {
    const s = sessions.get(sessionId);
    // Only the subject that started a session may end it; to anyone else it does not exist.
    if (!s || s.robotId !== robotId || s.subject !== subject) return false;
    sessions.delete(sessionId);
    await sessionService.close(s.peerId, sessionId, 'whep viewer left');
    s.release();
    return true;
  }

  /** Asks the holding instance to end a session; false when it is gone or does not hold the session. */
  function endThere(holder: string, sessionId: string, robotId: string, subject: string): Promise<boolean> {
    const replyTo = peers.newPeerId();
    return new Promise<boolean>((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        release();
        settle();
      };
      const timer = setTimeout(
        () => done(() => reject(new WhepError('timeout', 'the instance holding the session did not answer'))),
        REMOTE_TIMEOUT_MS,
      );
      const release = peers.addVirtualPeer(replyTo, (m) => {
        if (m.kind === 'whep_deleted' && m.sessionId === sessionId) done(() => resolve(m.found));
      });
      deliver(whepEndpointOf(holder), {
        kind: 'whep_delete',
        sessionId,
        from: replyTo,
        robotId,
        subject,
      }).then(
        // No instance took it: the holder is gone, and its sessions with it.
        (delivered) => delivered || done(() => resolve(false)),
        (err: unknown) => done(() => reject(err)),
      );
    });
  }

  // Requests from other instances about the sessions this one holds.
  const endpoint = whepEndpointOf(peers.instanceId);
  const releaseEndpoint = peers.addVirtualPeer(endpoint, (m) => {
    if (m.kind !== 'whep_delete') return;
    endHere(m.sessionId, m.robotId, m.subject)
      .then((found) =>
        deliver(m.from, { kind: 'whep_deleted', sessionId: m.sessionId, from: endpoint, found }),
      )
      .catch((err: unknown) =>
        app.log.warn({ err, sessionId: m.sessionId }, 'whep delete from another instance failed'),
      );
  });

  app.delete('/:robotId/whep/:sessionId', { schema: { params: SessionParams } }, async (req, reply) => {
    const { robotId, sessionId } = req.params as { robotId: string; sessionId: string };
    try {
      const claims = await authenticate(req.headers.authorization, robotId);
      const holder = sessionInstance(sessionId) ?? peers.instanceId;
      const ended =
        holder === peers.instanceId
          ? await endHere(sessionId, robotId, claims.sub)
          : await endThere(holder, sessionId, robotId, claims.sub);
      if (!ended) throw new WhepError('unknown_session', 'no such WHEP session');
      return reply.code(200).send();
    } catch (err) {
      return fail(reply, err);
    }
  });

  // No trickle and no ICE restart over PATCH (RFC 9725 lets a server refuse both with 405).
  app.patch('/:robotId/whep/:sessionId', async (_req, reply) =>
    reply.code(405).header('allow', 'POST, DELETE').send(),
  );

  app.addHook('onClose', async () => {
    releaseEndpoint();
    for (const s of sessions.values()) {
      // A robot on another instance that cannot be told now (Redis away) learns it at its next message.
      await sessionService
        .close(s.peerId, s.sessionId, 'signaling shutting down', 'service')
        .catch(() => undefined);
      s.release();
    }
    sessions.clear();
  });
}
