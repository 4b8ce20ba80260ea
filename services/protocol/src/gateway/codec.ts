/**
 * Validating decoders for the gateway envelope. Each side has its own set of allowed `type`s; a frame is parsed,
 * dispatched on `type` and checked against that one compiled schema, so errors name the actual problem.
 */
import type { Static, TObject, TUnion } from '@sinclair/typebox';
import { AppToGateway, GatewayToApp, GatewayToService, ServiceToGateway } from './messages.js';
import type { GatewayErrorCode } from './errors.js';
import { GATEWAY_ENVELOPE_VERSION } from './common.js';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../json-depth.js';
import { schemaCheck, type SchemaCheck } from '../schema-check.js';

export type DecodeResult<T> =
  | { ok: true; msg: T }
  | {
      ok: false;
      code: Extract<GatewayErrorCode, 'bad_json' | 'bad_message' | 'unknown_type'>;
      message: string;
      ref?: string;
    };

export interface EnvelopeDecoder<T> {
  /** Parses and validates one frame. Never throws. */
  decode(frame: string): DecodeResult<T>;
  /**
   * Parses one data-channel message from the gateway: one frame, or a JSON array of frames (the gateway packs
   * the frames of one event-loop turn into one message; docs/gateway.md). One result per frame, in order.
   */
  decodeBatch(message: string): DecodeResult<T>[];
  /** Validates an already-parsed value (e.g. for tests, or before sending). */
  check(value: unknown): DecodeResult<T>;
  readonly types: readonly string[];
}

function makeDecoder<U extends TUnion<TObject[]>>(union: U): EnvelopeDecoder<Static<U>> {
  const byType = new Map<string, SchemaCheck>();
  for (const member of union.anyOf) {
    const literal = member.properties['type'] as { const?: unknown } | undefined;
    if (typeof literal?.const !== 'string') throw new Error('every envelope member needs a literal type');
    byType.set(literal.const, schemaCheck(member));
  }
  const types = [...byType.keys()];

  function check(value: unknown): DecodeResult<Static<U>> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, code: 'bad_message', message: 'a frame must be a JSON object' };
    }
    const rec = value as Record<string, unknown>;
    const id = rec['id'];
    const ref = typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
    const refPart = ref === undefined ? {} : { ref };
    if (rec['v'] !== GATEWAY_ENVELOPE_VERSION) {
      return { ok: false, code: 'bad_message', message: `v must be ${GATEWAY_ENVELOPE_VERSION}`, ...refPart };
    }
    const type = rec['type'];
    if (typeof type !== 'string')
      return { ok: false, code: 'bad_message', message: 'type must be a string', ...refPart };
    if (exceedsJsonDepth(value)) {
      const message = `${type.slice(0, 40)}: nested deeper than ${MAX_JSON_DEPTH} levels`;
      return { ok: false, code: 'bad_message', message, ...refPart };
    }
    const validator = byType.get(type);
    if (!validator) {
      return {
        ok: false,
        code: 'unknown_type',
        message: `unknown type ${JSON.stringify(type.slice(0, 40))}; expected one of ${types.join(', ')}`,
        ...refPart,
      };
    }
    if (!validator.Check(value)) {
      const first = validator.Errors(value).First();
      const where = first?.path ? first.path : '/';
      return {
        ok: false,
        code: 'bad_message',
        message: `${type}: ${where} ${first?.message ?? 'is invalid'}`,
        ...refPart,
      };
    }
    return { ok: true, msg: value as Static<U> };
  }

  return {
    types,
    check,
    decode(frame: string) {
      let value: unknown;
      try {
        value = JSON.parse(frame);
      } catch {
        return { ok: false, code: 'bad_json', message: 'frame is not valid JSON' };
      }
      return check(value);
    },
    decodeBatch(message: string) {
      let value: unknown;
      try {
        value = JSON.parse(message);
      } catch {
        return [{ ok: false, code: 'bad_json', message: 'message is not valid JSON' }];
      }
      return Array.isArray(value) ? value.map(check) : [check(value)];
    },
  };
}

export const serviceToGateway = makeDecoder(ServiceToGateway);
export const gatewayToService = makeDecoder(GatewayToService);
export const appToGateway = makeDecoder(AppToGateway);
export const gatewayToApp = makeDecoder(GatewayToApp);
