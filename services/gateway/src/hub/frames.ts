/** Frame helpers every part of the hub uses. */
import type { GatewayErrorCode, GatewayToApp, GatewayToService } from '@robostream/protocol/gateway';
import type { Logger } from 'pino';

export const enc = (m: GatewayToApp | GatewayToService): string => JSON.stringify(m);

/** Over the byte limit (the cheap length test first: a UTF-16 unit is at most 3 UTF-8 bytes). */
export function tooLarge(frame: string, maxBytes: number): boolean {
  return frame.length > maxBytes / 3 && Buffer.byteLength(frame) > maxBytes;
}

/**
 * The hub keeps the e-stop lane and the deadman for every link, so no frame may take the process down: decoders
 * refuse what could make encoding throw (too deep, too large), and whatever still throws is answered with
 * `internal` to its sender and logged, while every other link and service goes on. The hub runs every frame
 * from a link or a service through this.
 */
export function guard(
  handle: () => void,
  reply: (code: GatewayErrorCode, message: string) => void,
  log: Logger,
): void {
  try {
    handle();
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'frame handling failed');
    try {
      reply('internal', 'the gateway could not handle this frame');
    } catch {
      // Nothing more to do for this frame; the hub itself stays up.
    }
  }
}
