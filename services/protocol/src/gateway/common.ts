import { Type, type Static } from '@sinclair/typebox';

/** Envelope version. Every gateway frame carries `v: 1`; a v2 would live beside it during an upgrade. */
export const GATEWAY_ENVELOPE_VERSION = 1;
export const V = Type.Literal(GATEWAY_ENVELOPE_VERSION);

/** The local websocket path robot programs connect to, and the direct (LAN) path apps connect to. */
export const GATEWAY_LOCAL_PATH = '/v1/service';
export const GATEWAY_APP_PATH = '/v1/app';

/** A robot program's name on the hub: short, lowercase, safe in logs, metrics labels and URLs. */
export const SERVICE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';
export const ServiceName = Type.String({ pattern: SERVICE_NAME_PATTERN });

/** Sender-chosen id of a command or request, echoed as `ref` in the reply or error. */
export const MessageId = Type.String({ minLength: 1, maxLength: 64 });

/** The gateway's id for one app link (assigned at authentication, unique for the gateway's lifetime). */
export const LinkId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Optional topic inside a service's telemetry stream (e.g. "cell_voltages"). Drops are counted per service. */
export const Topic = Type.String({ minLength: 1, maxLength: 64 });

export const Reason = Type.String({ maxLength: 256 });

/** Free-form JSON carried for the service; the gateway never looks inside. */
export const Payload = Type.Unknown();

/** Who holds the control lock: the link and the app subject from its token. */
export const LockHolder = Type.Object(
  { link: LinkId, sub: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);
export type LockHolder = Static<typeof LockHolder>;

/** Why the lock state changed. */
export const LockCause = Type.Union([
  Type.Literal('take'),
  Type.Literal('release'),
  Type.Literal('takeover'),
  Type.Literal('link_closed'),
  Type.Literal('current'),
]);
export type LockCause = Static<typeof LockCause>;

export const LockState = Type.Object(
  {
    holder: Type.Union([LockHolder, Type.Null()]),
    cause: LockCause,
    /** The previous holder, for release, takeover and link_closed. */
    previous: Type.Optional(Type.Union([LockHolder, Type.Null()])),
  },
  { additionalProperties: false },
);
export type LockState = Static<typeof LockState>;

export const DeadmanStatus = Type.Union([Type.Literal('ok'), Type.Literal('tripped')]);
export type DeadmanStatus = Static<typeof DeadmanStatus>;
