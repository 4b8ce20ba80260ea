import type { TObject } from '@sinclair/typebox';
import { CLIENT_MESSAGE_SCHEMAS, type ClientMessage } from './messages/client-messages.js';
import { SERVER_MESSAGE_SCHEMAS, type ServerMessage } from './messages/server-messages.js';
import type { ErrorCode } from './errors.js';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth.js';
import { schemaCheck, type SchemaCheck } from './schema-check.js';

export interface ProtocolError {
  code: ErrorCode;
  message: string;
  ref?: string;
  /** The message's type and the first offending field (a JSON pointer), when the frame got that far. */
  type?: string;
  field?: string;
}
export type ParseResult<T> = { ok: true; msg: T } | { ok: false; error: ProtocolError };

function compileAll<S extends Record<string, TObject>>(schemas: S): Map<string, SchemaCheck> {
  return new Map(Object.entries(schemas).map(([type, schema]) => [type, schemaCheck(schema)]));
}

/**
 * A parser for one direction of the protocol. Checks are compiled once; each frame costs one JSON.parse
 * and one compiled check. Errors name the offending field and echo the request's ref when it had one.
 */
function makeParser<T>(schemas: Record<string, TObject>) {
  const checks = compileAll(schemas);
  return (raw: string): ParseResult<T> => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, error: { code: 'bad_json', message: 'frame is not valid JSON' } };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: { code: 'bad_message', message: 'a message must be a JSON object' } };
    }
    const obj = value as Record<string, unknown>;
    const ref = typeof obj['ref'] === 'string' && obj['ref'].length <= 64 ? obj['ref'] : undefined;
    const type = obj['type'];
    if (typeof type !== 'string') {
      return {
        ok: false,
        error: { code: 'bad_message', message: 'field "type" must be a string', ...(ref ? { ref } : {}) },
      };
    }
    if (exceedsJsonDepth(value)) {
      const message = `${type.slice(0, 64)}: nested deeper than ${MAX_JSON_DEPTH} levels`;
      return { ok: false, error: { code: 'bad_message', message, ...(ref ? { ref } : {}) } };
    }
    const check = checks.get(type);
    if (!check) {
      return {
        ok: false,
        error: {
          code: 'unknown_type',
          message: `unknown message type ${JSON.stringify(type.slice(0, 64))}`,
          ...(ref ? { ref } : {}),
        },
      };
    }
    if (!check.Check(value)) {
      const first = check.Errors(value).First();
      const where = first?.path ? `field ${first.path}` : 'message';
      const detail = first ? `${where}: ${first.message}` : 'invalid message';
      return {
        ok: false,
        error: {
          code: 'bad_message',
          message: `${type}: ${detail}`,
          ...(ref ? { ref } : {}),
          type,
          ...(first?.path ? { field: first.path } : {}),
        },
      };
    }
    return { ok: true, msg: value as T };
  };
}

export const parseClientMessage = makeParser<ClientMessage>(CLIENT_MESSAGE_SCHEMAS);
export const parseServerMessage = makeParser<ServerMessage>(SERVER_MESSAGE_SCHEMAS);
