/** Messages the signaling service sends to clients. */
import { Type, type Static, type TObject, type TProperties, type TLiteral } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import {
  EndpointName,
  GrantName,
  IceCandidate,
  IceServer,
  Reason,
  Ref,
  RobotId,
  RobotMeta,
  RobotPresence,
  Sdp,
  SessionId,
} from './common.js';

function message<T extends string, P extends TProperties>(type: T, props: P) {
  return Type.Object({ type: Type.Literal(type), ...props } as { type: TLiteral<T> } & P, {
    additionalProperties: false,
  });
}
const OptRef = Type.Optional(Ref);

export const Welcome = message('welcome', {
  ref: OptRef,
  protocol: Type.Literal(1),
  peerId: Type.String(),
  instanceId: Type.String(),
  role: Type.Union([Type.Literal('robot'), Type.Literal('app')]),
  subject: Type.String(),
  iceServers: Type.Array(IceServer),
  /** Unix ms when the TURN credentials in iceServers expire; ask for fresh ones before (refresh_ice_servers). */
  iceServersExpireAt: Type.Union([Type.Integer(), Type.Null()]),
  tokenExpiresAt: Type.Integer({ description: 'unix ms' }),
  limits: Type.Object({
    maxMessageBytes: Type.Integer(),
    messagesPerSecond: Type.Number(),
    burst: Type.Integer(),
    maxSessions: Type.Integer(),
  }),
});
export const Registered = message('registered', { ref: OptRef, robotId: RobotId, endpoint: EndpointName });
export const Unregistered = message('unregistered', {
  ref: OptRef,
  robotId: RobotId,
  endpoint: EndpointName,
});
export const Robots = message('robots', { ref: OptRef, robots: Type.Array(RobotPresence) });
export const Subscribed = message('subscribed', { ref: OptRef, robots: Type.Array(RobotPresence) });
export const Unsubscribed = message('unsubscribed', { ref: OptRef });
export const Presence = message('presence', {
  robotId: RobotId,
  endpoint: EndpointName,
  online: Type.Boolean(),
  since: Type.Optional(Type.Integer()),
  meta: Type.Optional(RobotMeta),
});
export const SessionCreated = message('session_created', {
  ref: OptRef,
  sessionId: SessionId,
  robotId: RobotId,
  endpoint: EndpointName,
});
export const SessionRequest = message('session_request', {
  sessionId: SessionId,
  endpoint: EndpointName,
  app: Type.Object({
    subject: Type.String(),
    /** What the app's token grants on this robot (implications applied), as signaling verified it. */
    grants: Type.Array(GrantName, { maxItems: 8 }),
  }),
  meta: Type.Optional(RobotMeta),
  /** The app's opening offer, to an endpoint registered with `offerInRequest` (it answers after accepting). */
  offer: Type.Optional(Sdp),
});
export const SessionAccepted = message('session_accepted', { ref: OptRef, sessionId: SessionId });
export const SessionRejected = message('session_rejected', { sessionId: SessionId, reason: Reason });
export const Offer = message('offer', { sessionId: SessionId, sdp: Sdp });
export const Answer = message('answer', { sessionId: SessionId, sdp: Sdp });
export const Candidate = message('candidate', { sessionId: SessionId, candidate: IceCandidate });
export const EndOfCandidates = message('end_of_candidates', { sessionId: SessionId });
export const IceRestart = message('ice_restart', { sessionId: SessionId, reason: Type.Optional(Reason) });
export const SessionClosed = message('session_closed', {
  ref: OptRef,
  sessionId: SessionId,
  reason: Reason,
  /** Who ended it: the other side, or the service (a peer gone or unreachable, shutting down...). */
  by: Type.Union([Type.Literal('peer'), Type.Literal('service'), Type.Literal('self')]),
});
export const Pong = message('pong', {
  ref: OptRef,
  t: Type.Optional(Type.Number()),
  serverTime: Type.Integer(),
});
export const IceServers = message('ice_servers', {
  ref: OptRef,
  iceServers: Type.Array(IceServer),
  iceServersExpireAt: Type.Union([Type.Integer(), Type.Null()]),
});
/** The instance is draining: reconnect (to any instance) after the delay. */
export const GoAway = message('goaway', { reason: Reason, reconnectInMs: Type.Integer({ minimum: 0 }) });
export const ErrorMessage = message('error', {
  code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
  message: Type.String(),
  ref: OptRef,
});

export const SERVER_MESSAGE_SCHEMAS = {
  welcome: Welcome,
  registered: Registered,
  unregistered: Unregistered,
  robots: Robots,
  subscribed: Subscribed,
  unsubscribed: Unsubscribed,
  presence: Presence,
  session_created: SessionCreated,
  session_request: SessionRequest,
  session_accepted: SessionAccepted,
  session_rejected: SessionRejected,
  offer: Offer,
  answer: Answer,
  candidate: Candidate,
  end_of_candidates: EndOfCandidates,
  ice_restart: IceRestart,
  session_closed: SessionClosed,
  pong: Pong,
  ice_servers: IceServers,
  goaway: GoAway,
  error: ErrorMessage,
} satisfies Record<string, TObject>;

export type ServerMessageType = keyof typeof SERVER_MESSAGE_SCHEMAS;
export type ServerMessageOf<T extends ServerMessageType> = Static<(typeof SERVER_MESSAGE_SCHEMAS)[T]>;
export type ServerMessage = { [K in ServerMessageType]: ServerMessageOf<K> }[ServerMessageType];
