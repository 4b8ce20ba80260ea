// What a recording holds, channel by channel (docs/recording.md lists them): the JSON Schema of each and how a
// message is encoded. Video and audio use the @foxglove/schemas definitions so Foxglove plays them; the gateway channels carry the
// protocol's own schemas (one channel per origin and message type); session events have ours.
import { CompressedAudio, CompressedVideo } from '@foxglove/schemas/jsonschema.js';
import { Type, type Static } from '@sinclair/typebox';
import {
  TAPPED_APP_MESSAGES,
  TAPPED_GATEWAY_MESSAGES,
  TAPPED_SERVICE_MESSAGES,
  tapRecordSchema,
  type TapRecord,
} from '@robostream/protocol/gateway';
import type { ChannelSpec } from './mcap-segment.js';

export const SessionEvent = Type.Object(
  {
    at: Type.Number({ minimum: 0 }),
    event: Type.Union([
      Type.Literal('recording.start'),
      Type.Literal('recording.stop'),
      Type.Literal('viewer.open'),
      Type.Literal('viewer.close'),
      Type.Literal('operator'),
      Type.Literal('gateway.connected'),
      Type.Literal('gateway.lost'),
    ]),
    /** recording.*: who asked (app subject, or "blackbox"); viewer.*: the app subject; operator: lock holder. */
    who: Type.Union([Type.String(), Type.Null()]),
    /** viewer.*: the viewer id; operator: the link; recording.*: the recording's kind. */
    ref: Type.Optional(Type.String()),
    detail: Type.Optional(Type.String()),
  },
  { title: 'robostream.SessionEvent', additionalProperties: false },
);
export type SessionEvent = Static<typeof SessionEvent>;

const schemaText = (s: object): string => JSON.stringify(s);

export function videoChannel(cameraId: string): ChannelSpec {
  return {
    topic: `/camera/${cameraId}/h264`,
    schemaName: 'foxglove.CompressedVideo',
    schema: schemaText(CompressedVideo),
    metadata: { camera: cameraId },
  };
}

export const audioChannel: ChannelSpec = {
  topic: '/audio/mic/opus',
  schemaName: 'foxglove.CompressedAudio',
  schema: schemaText(CompressedAudio),
};

export const sessionChannel: ChannelSpec = {
  topic: '/session',
  schemaName: 'robostream.SessionEvent',
  schema: schemaText(SessionEvent),
};

const gatewayChannels = new Map<string, ChannelSpec>();
for (const [origin, messages] of [
  ['app', TAPPED_APP_MESSAGES],
  ['service', TAPPED_SERVICE_MESSAGES],
  ['gateway', TAPPED_GATEWAY_MESSAGES],
] as const) {
  for (const [type, schema] of Object.entries(messages)) {
    gatewayChannels.set(`${origin}/${type}`, {
      topic: `/gateway/${origin}/${type}`,
      schemaName: `robostream.gateway.${origin}.${type}`,
      schema: schemaText(tapRecordSchema(origin, schema)),
    });
  }
}

/** The channel of a tapped gateway message; null for a type the protocol does not tap (a newer gateway). */
export function gatewayChannel(record: TapRecord): ChannelSpec | null {
  return gatewayChannels.get(`${record.origin}/${record.message.type}`) ?? null;
}

export function timeOf(ns: bigint): { sec: number; nsec: number } {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}
