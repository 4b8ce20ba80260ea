/**
 * The gateway envelope, v1. Every frame is one JSON object `{v: 1, type, ...}`.
 * - "service" messages travel on the local websocket between robot programs and the gateway;
 * - "app" messages travel on an app link (direct wss on a LAN, or WebRTC data channels through signaling).
 * The gateway stamps identity (`service`, `from`, `sub`) itself: a sender never names who it is.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  DeadmanStatus,
  LinkId,
  LockHolder,
  LockState,
  MessageId,
  Payload,
  Reason,
  ServiceName,
  Topic,
  V,
} from './common.js';
import { GATEWAY_ERROR_CODES } from './errors.js';
import { AppChunk, GatewayChunk, MAX_MESSAGE_BYTES_CEILING, ServiceChunk } from './chunk-frame.js';
import { GrantName } from '../messages/common.js';

const obj = <P extends Record<string, TSchema>>(props: P) =>
  Type.Object(props, { additionalProperties: false });

export const ErrorCode = Type.Union(GATEWAY_ERROR_CODES.map((c) => Type.Literal(c)));

// ---------- shared shapes ----------

/** Teleop speeds: metres per second and radians per second; far beyond any robot, so a unit mix-up is refused. */
const Speed = Type.Number({ minimum: -50, maximum: 50 });

export const EstopSource = Type.Union([
  obj({ kind: Type.Literal('app'), link: LinkId, sub: Type.String({ maxLength: 64 }) }),
  obj({ kind: Type.Literal('service'), service: ServiceName }),
]);
export type EstopSource = Static<typeof EstopSource>;

export const ErrorMessage = obj({
  v: V,
  type: Type.Literal('error'),
  code: ErrorCode,
  message: Type.String({ maxLength: 512 }),
  ref: Type.Optional(MessageId),
  /** The service the failed message was for or from, when there is one. */
  service: Type.Optional(ServiceName),
});
export type ErrorMessage = Static<typeof ErrorMessage>;

export const LockStateMessage = Type.Composite([obj({ v: V, type: Type.Literal('lock.state') }), LockState], {
  additionalProperties: false,
});
export type LockStateMessage = Static<typeof LockStateMessage>;

export const DeadmanMessage = obj({
  v: V,
  type: Type.Literal('deadman'),
  status: DeadmanStatus,
  /** The operator whose silence tripped it (tripped), or who is back (ok). */
  holder: Type.Union([LockHolder, Type.Null()]),
  /** Milliseconds since the operator was last heard from when it tripped. */
  silentMs: Type.Integer({ minimum: 0 }),
});
export type DeadmanMessage = Static<typeof DeadmanMessage>;

export const EstopAnnouncement = obj({
  v: V,
  type: Type.Literal('estop'),
  source: EstopSource,
  reason: Type.Optional(Reason),
  /** Gateway clock, unix ms, when the stop was received. */
  at: Type.Integer(),
});
export type EstopAnnouncement = Static<typeof EstopAnnouncement>;

export const Pong = obj({
  v: V,
  type: Type.Literal('pong'),
  ref: Type.Optional(MessageId),
  at: Type.Integer(),
});
export type Pong = Static<typeof Pong>;

const Ping = obj({ v: V, type: Type.Literal('ping'), id: Type.Optional(MessageId) });

// ---------- local side: service -> gateway ----------

export const ServiceHello = obj({
  v: V,
  type: Type.Literal('hello'),
  service: ServiceName,
  /**
   * The largest message (UTF-8 bytes, chunked) this program accepts or sends; it may lower the gateway's cap for
   * it, never raise it. Absent: the gateway's cap (docs/gateway.md, "Large messages").
   */
  maxMessageBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: MAX_MESSAGE_BYTES_CEILING })),
});
export const ServiceTelemetry = obj({
  v: V,
  type: Type.Literal('telemetry'),
  topic: Type.Optional(Topic),
  payload: Payload,
  /** One app link; every link when absent. */
  to: Type.Optional(LinkId),
});
export const ServiceEvent = obj({
  v: V,
  type: Type.Literal('event'),
  /** Set it to get an error back (with this ref) when an app could not be reached. */
  id: Type.Optional(MessageId),
  payload: Payload,
  to: Type.Optional(LinkId),
});
export const ServiceReply = obj({
  v: V,
  type: Type.Literal('reply'),
  /** The command's id. */
  ref: MessageId,
  /** The command's `from` link. */
  to: LinkId,
  ok: Type.Boolean(),
  payload: Type.Optional(Payload),
});
export const ServiceEstop = obj({ v: V, type: Type.Literal('estop'), reason: Type.Optional(Reason) });
export const ServicePing = Ping;

export const ServiceToGateway = Type.Union([
  ServiceHello,
  ServiceTelemetry,
  ServiceEvent,
  ServiceReply,
  ServiceEstop,
  ServicePing,
  ServiceChunk,
]);
export type ServiceHello = Static<typeof ServiceHello>;
export type ServiceTelemetry = Static<typeof ServiceTelemetry>;
export type ServiceEvent = Static<typeof ServiceEvent>;
export type ServiceReply = Static<typeof ServiceReply>;
export type ServiceEstop = Static<typeof ServiceEstop>;
export type ServiceToGateway = Static<typeof ServiceToGateway>;

// ---------- local side: gateway -> service ----------

export const ServiceWelcome = obj({
  v: V,
  type: Type.Literal('welcome'),
  service: ServiceName,
  lock: LockState,
  deadman: DeadmanStatus,
  /** Number of app links connected now. */
  links: Type.Integer({ minimum: 0 }),
});
export const ServiceCommand = obj({
  v: V,
  type: Type.Literal('command'),
  id: MessageId,
  /** The app link that sent it: reply with `to: from`. */
  from: LinkId,
  /** The app subject from that link's token. */
  sub: Type.String({ maxLength: 64 }),
  payload: Payload,
});
/** An operator's velocity command, stamped like a command (`from`, `sub`) plus the gateway's receive time. */
export const ServiceVelocity = obj({
  v: V,
  type: Type.Literal('velocity'),
  from: LinkId,
  sub: Type.String({ maxLength: 64 }),
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  sentAt: Type.Number({ minimum: 0 }),
  /** Gateway clock (unix ms) when it arrived: the robot's clock, unlike sentAt. */
  at: Type.Integer(),
  linear: Speed,
  angular: Speed,
});
export type ServiceVelocity = Static<typeof ServiceVelocity>;
export const GatewayToService = Type.Union([
  ServiceWelcome,
  ServiceCommand,
  ServiceVelocity,
  EstopAnnouncement,
  DeadmanMessage,
  LockStateMessage,
  ErrorMessage,
  Pong,
  GatewayChunk,
]);
export type ServiceWelcome = Static<typeof ServiceWelcome>;
export type ServiceCommand = Static<typeof ServiceCommand>;
export type GatewayToService = Static<typeof GatewayToService>;

// ---------- app side: app -> gateway ----------

export const AppAuth = obj({
  v: V,
  type: Type.Literal('auth'),
  token: Type.String({ minLength: 1, maxLength: 4096 }),
});
export const AppCommand = obj({
  v: V,
  type: Type.Literal('command'),
  id: MessageId,
  service: ServiceName,
  payload: Payload,
});
export const AppLockTake = obj({ v: V, type: Type.Literal('lock.take'), id: Type.Optional(MessageId) });
export const AppLockRelease = obj({ v: V, type: Type.Literal('lock.release'), id: Type.Optional(MessageId) });
export const AppLockTakeover = obj({
  v: V,
  type: Type.Literal('lock.takeover'),
  id: Type.Optional(MessageId),
});
export const AppEstop = obj({
  v: V,
  type: Type.Literal('estop'),
  id: Type.Optional(MessageId),
  reason: Type.Optional(Reason),
});
export const AppPing = Ping;

/**
 * A velocity command for one service, sent at a fixed rate (about 20 Hz) on the lossy lane while the operator
 * holds a key or the dead-man button. Only the newest counts: the robot drops any whose seq is not above the
 * last it used, and stops by itself when none fresh arrives within its bound (see VelocityGuard).
 */
export const AppVelocity = obj({
  v: V,
  type: Type.Literal('velocity'),
  service: ServiceName,
  /** Grows by one per message of this link; starts anywhere. */
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  /** The app's clock (unix ms) at sending; echoed by the robot so the app can time command -> telemetry. */
  sentAt: Type.Number({ minimum: 0 }),
  linear: Speed,
  angular: Speed,
});

export const AppToGateway = Type.Union([
  AppAuth,
  AppCommand,
  AppLockTake,
  AppLockRelease,
  AppLockTakeover,
  AppEstop,
  AppPing,
  AppVelocity,
  AppChunk,
]);
export type AppVelocity = Static<typeof AppVelocity>;
export type AppAuth = Static<typeof AppAuth>;
export type AppCommand = Static<typeof AppCommand>;
export type AppEstop = Static<typeof AppEstop>;
export type AppToGateway = Static<typeof AppToGateway>;

// ---------- app side: gateway -> app ----------

export const ServiceStatus = obj({ service: ServiceName, up: Type.Boolean() });
export const AppWelcome = obj({
  v: V,
  type: Type.Literal('welcome'),
  link: LinkId,
  sub: Type.String({ maxLength: 64 }),
  robot: Type.String({ maxLength: 64 }),
  /** What this link's token grants on this robot (implications applied): what the app may offer its user. */
  grants: Type.Array(GrantName, { maxItems: 8 }),
  services: Type.Array(ServiceStatus),
  lock: LockState,
  deadman: DeadmanStatus,
  limits: obj({ maxFrameBytes: Type.Integer(), deadmanMs: Type.Integer() }),
});
export const AppTelemetry = obj({
  v: V,
  type: Type.Literal('telemetry'),
  service: ServiceName,
  topic: Type.Optional(Topic),
  payload: Payload,
});
export const AppEvent = obj({ v: V, type: Type.Literal('event'), service: ServiceName, payload: Payload });
export const AppReply = obj({
  v: V,
  type: Type.Literal('reply'),
  service: ServiceName,
  ref: MessageId,
  ok: Type.Boolean(),
  payload: Type.Optional(Payload),
});
export const ServiceUp = obj({ v: V, type: Type.Literal('service.up'), service: ServiceName });
export const ServiceDown = obj({ v: V, type: Type.Literal('service.down'), service: ServiceName });
export const DropReport = obj({
  v: V,
  type: Type.Literal('drops'),
  service: ServiceName,
  /** Telemetry messages of this service dropped for this link since the previous report. */
  dropped: Type.Integer({ minimum: 1 }),
  /** ... and since the link opened. */
  total: Type.Integer({ minimum: 1 }),
});
export const GatewayToApp = Type.Union([
  AppWelcome,
  AppTelemetry,
  AppEvent,
  AppReply,
  ErrorMessage,
  LockStateMessage,
  DeadmanMessage,
  EstopAnnouncement,
  ServiceUp,
  ServiceDown,
  DropReport,
  Pong,
  GatewayChunk,
]);
export type AppWelcome = Static<typeof AppWelcome>;
export type AppTelemetry = Static<typeof AppTelemetry>;
export type AppEvent = Static<typeof AppEvent>;
export type AppReply = Static<typeof AppReply>;
export type ServiceUp = Static<typeof ServiceUp>;
export type ServiceDown = Static<typeof ServiceDown>;
export type DropReport = Static<typeof DropReport>;
export type GatewayToApp = Static<typeof GatewayToApp>;
