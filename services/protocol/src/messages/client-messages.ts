/** Messages a client (robot endpoint or app) sends to the signaling service. */
import {
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TLiteral,
  type TOptional,
  type TString,
} from '@sinclair/typebox';
import { EndpointName, IceCandidate, Reason, Ref, RobotId, RobotMeta, Sdp, SessionId } from './common.js';

function message<T extends string, P extends TProperties>(type: T, props: P) {
  return Type.Object(
    { type: Type.Literal(type), ref: Type.Optional(Ref), ...props } as {
      type: TLiteral<T>;
      ref: TOptional<TString>;
    } & P,
    { additionalProperties: false },
  );
}

export const Authenticate = message('authenticate', {
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  client: Type.Optional(Type.String({ maxLength: 128, description: 'software name/version, for logs' })),
});
export const Register = message('register', {
  endpoint: EndpointName,
  meta: Type.Optional(RobotMeta),
  /**
   * The endpoint takes an app's opening offer inside `session_request` (it may answer right after its
   * `session_accept`) instead of as an `offer` after its acceptance: one round trip between robot and signaling less
   * before the answer. A service of an older version refuses the field (`bad_message` naming `/offerInRequest`); the
   * client library then registers without it.
   */
  offerInRequest: Type.Optional(Type.Boolean()),
});
export const Unregister = message('unregister', { endpoint: EndpointName });
export const ListRobots = message('list_robots', {});
export const SubscribePresence = message('subscribe_presence', {});
export const UnsubscribePresence = message('unsubscribe_presence', {});
export const SessionOpen = message('session_open', {
  robotId: RobotId,
  endpoint: EndpointName,
  /** What the app wants from the endpoint, passed through to the robot (e.g. {video: "front", codec: "vp8"}). */
  meta: Type.Optional(RobotMeta),
  /**
   * The app's first offer, sent with the request instead of after `session_accepted`: signaling hands it to the
   * robot inside its `session_request` (an endpoint registered with `offerInRequest`), else as an ordinary `offer`
   * right after the robot accepts; either way the app saves one round trip to the robot.
   */
  offer: Type.Optional(Sdp),
});
export const SessionAccept = message('session_accept', { sessionId: SessionId });
export const SessionReject = message('session_reject', { sessionId: SessionId, reason: Reason });
export const Offer = message('offer', { sessionId: SessionId, sdp: Sdp });
export const Answer = message('answer', { sessionId: SessionId, sdp: Sdp });
export const Candidate = message('candidate', { sessionId: SessionId, candidate: IceCandidate });
export const EndOfCandidates = message('end_of_candidates', { sessionId: SessionId });
/** Asks the other side to restart ICE (the offerer creates an offer with iceRestart). */
export const IceRestart = message('ice_restart', { sessionId: SessionId, reason: Type.Optional(Reason) });
export const SessionClose = message('session_close', { sessionId: SessionId, reason: Reason });
export const Ping = message('ping', { t: Type.Optional(Type.Number()) });
export const RefreshIceServers = message('refresh_ice_servers', {});

export const CLIENT_MESSAGE_SCHEMAS = {
  authenticate: Authenticate,
  register: Register,
  unregister: Unregister,
  list_robots: ListRobots,
  subscribe_presence: SubscribePresence,
  unsubscribe_presence: UnsubscribePresence,
  session_open: SessionOpen,
  session_accept: SessionAccept,
  session_reject: SessionReject,
  offer: Offer,
  answer: Answer,
  candidate: Candidate,
  end_of_candidates: EndOfCandidates,
  ice_restart: IceRestart,
  session_close: SessionClose,
  ping: Ping,
  refresh_ice_servers: RefreshIceServers,
} satisfies Record<string, TObject>;

export type ClientMessageType = keyof typeof CLIENT_MESSAGE_SCHEMAS;
export type ClientMessageOf<T extends ClientMessageType> = Static<(typeof CLIENT_MESSAGE_SCHEMAS)[T]>;
export type ClientMessage = { [K in ClientMessageType]: ClientMessageOf<K> }[ClientMessageType];

/** Messages that belong to a session and are relayed verbatim to the session's other side. */
export const SESSION_RELAY_TYPES = [
  'offer',
  'answer',
  'candidate',
  'end_of_candidates',
  'ice_restart',
] as const;
export type SessionRelayType = (typeof SESSION_RELAY_TYPES)[number];
export type SessionRelayMessage = ClientMessageOf<SessionRelayType>;
