/**
 * The gateway's tap: a copy of every message the hub routes or makes, for the robot's recorder (docs/recording.md).
 * Served on the gateway's local listener only (GATEWAY_TAP_PATH, newline-delimited JSON), so it is as private as
 * the service socket. App `auth` frames (tokens) are never tapped.
 * Each record says where the message came from, who sent it (link and token subject, or service name) and when
 * the gateway handled it (`at`, Unix epoch milliseconds with a fraction, the robot's clock).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { LinkId, ServiceName } from './common.js';
import {
  AppCommand,
  AppEstop,
  AppLockRelease,
  AppLockTake,
  AppLockTakeover,
  AppPing,
  DeadmanMessage,
  EstopAnnouncement,
  LockStateMessage,
  ServiceEstop,
  ServiceEvent,
  ServiceHello,
  ServicePing,
  ServiceReply,
  ServiceTelemetry,
} from './messages.js';

export const GATEWAY_TAP_PATH = '/v1/tap';

const Sub = Type.String({ maxLength: 64 });
const At = Type.Number({ minimum: 0 });

/** Tapped messages by origin and type; the recorder makes one channel (and JSON Schema) of each. */
export const TAPPED_APP_MESSAGES = {
  command: AppCommand,
  'lock.take': AppLockTake,
  'lock.release': AppLockRelease,
  'lock.takeover': AppLockTakeover,
  estop: AppEstop,
  ping: AppPing,
} as const satisfies Record<string, TSchema>;

export const TAPPED_SERVICE_MESSAGES = {
  hello: ServiceHello,
  telemetry: ServiceTelemetry,
  event: ServiceEvent,
  reply: ServiceReply,
  estop: ServiceEstop,
  ping: ServicePing,
} as const satisfies Record<string, TSchema>;

/** Made by the gateway itself and announced to every link and service. */
export const TAPPED_GATEWAY_MESSAGES = {
  'lock.state': LockStateMessage,
  deadman: DeadmanMessage,
  estop: EstopAnnouncement,
} as const satisfies Record<string, TSchema>;

const obj = <P extends Record<string, TSchema>>(props: P) =>
  Type.Object(props, { additionalProperties: false });

/** A record's envelope for one message schema: the JSON Schema of a recorder channel. */
export const tapRecordSchema = (origin: 'app' | 'service' | 'gateway', message: TSchema): TSchema =>
  origin === 'app'
    ? obj({ at: At, origin: Type.Literal('app'), link: LinkId, sub: Sub, message })
    : origin === 'service'
      ? obj({ at: At, origin: Type.Literal('service'), service: ServiceName, message })
      : obj({ at: At, origin: Type.Literal('gateway'), message });

const values = <T extends Record<string, TSchema>>(m: T): TSchema[] => Object.values(m);

export const TapRecord = Type.Union([
  ...values(TAPPED_APP_MESSAGES).map((m) => tapRecordSchema('app', m)),
  ...values(TAPPED_SERVICE_MESSAGES).map((m) => tapRecordSchema('service', m)),
  ...values(TAPPED_GATEWAY_MESSAGES).map((m) => tapRecordSchema('gateway', m)),
]);

/** The static shape (message typed loosely: its schema is per type, above). */
export type TapRecord =
  | {
      at: number;
      origin: 'app';
      link: string;
      sub: string;
      message: { type: string } & Record<string, unknown>;
    }
  | { at: number; origin: 'service'; service: string; message: { type: string } & Record<string, unknown> }
  | { at: number; origin: 'gateway'; message: { type: string } & Record<string, unknown> };
