import { stdSerializers, type LoggerOptions } from 'pino';

/**
 * Errors as pino serializes them, without `rawPacket`: Node's HTTP parser attaches the raw bytes of a request it
 * refuses (a 431 header overflow, a 400 bad header) to the error, and Fastify logs that error at trace level. Those
 * bytes hold the request's Authorization header, serialized as a byte array that a search for the token misses.
 */
function errorWithoutRawPacket(err: Error): ReturnType<typeof stdSerializers.err> {
  const serialized = stdSerializers.err(err);
  delete serialized['rawPacket'];
  return serialized;
}

/**
 * Tokens and secrets must never reach logs, at any level: the server never logs message bodies, and these paths are
 * redacted in case a request or error object carries them.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: { err: errorWithoutRawPacket },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'err.rawPacket',
        'token',
        '*.token',
        'secret',
        '*.secret',
        'credential',
        '*.credential',
      ],
      censor: '[redacted]',
    },
  };
}
