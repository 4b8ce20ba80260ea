import { Type, type Static } from '@sinclair/typebox';
import { GRANTS } from '../auth/grants.js';

/** Client-chosen request id, echoed in the reply or error so the client can match them. */
export const Ref = Type.String({ minLength: 1, maxLength: 64 });
export const RobotId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
/** A robot runs several endpoints (e.g. `media`, `gateway`), each its own connection. */
export const EndpointName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' });
export const SessionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** A grant name of app tokens (see auth/grants.ts). */
export const GrantName = Type.Union(GRANTS.map((g) => Type.Literal(g)));
export const Sdp = Type.String({ minLength: 1, maxLength: 32_768 });
export const Reason = Type.String({ maxLength: 256 });

export const IceCandidate = Type.Object(
  {
    candidate: Type.String({ maxLength: 1024 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1024 }), Type.Null()])),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type IceCandidate = Static<typeof IceCandidate>;

/** RTCIceServer as browsers and werift take it. */
export const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServer>;

/** Free-form, small robot description shown to apps (name, model, camera list...). */
export const RobotMeta = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean()]),
  {
    maxProperties: 32,
  },
);
export type RobotMeta = Static<typeof RobotMeta>;

export const EndpointPresence = Type.Object({
  name: EndpointName,
  since: Type.Integer({ description: 'unix ms when it registered' }),
  meta: Type.Optional(RobotMeta),
});
export type EndpointPresence = Static<typeof EndpointPresence>;

export const RobotPresence = Type.Object({
  robotId: RobotId,
  endpoints: Type.Array(EndpointPresence),
});
export type RobotPresence = Static<typeof RobotPresence>;
