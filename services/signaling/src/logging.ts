import type { LoggerOptions } from 'pino';

/**
 * Tokens and secrets must never reach logs: the server never logs message bodies, and these paths are
 * redacted in case a request or error object carries them.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
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
