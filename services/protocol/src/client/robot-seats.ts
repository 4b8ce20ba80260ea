/**
 * Which of an app's older sessions a new request of the same app may take over when every seat is taken. A
 * reloaded console, or a player that left without a word, holds its seat until its dead path is noticed; refusing
 * its own next session meanwhile ("too many viewers") is what people hit. Sessions of other apps are never taken.
 */
import type { RobotMeta } from '../messages/common.js';

export interface SeatHolder {
  /** The app token's subject. */
  app: string;
  /** The console instance named in the request's meta, or null. */
  console: string | null;
  /** Whether the app's signaling still reaches this session. */
  signaled: boolean;
  closed: boolean;
}

/** The session of the same console if the request names one, else one whose app signaling is already gone. */
export function seatToTakeOver<T extends SeatHolder>(
  held: T[],
  app: string,
  console: string | null,
): T | undefined {
  const mine = held.filter((e) => e.app === app && !e.closed);
  return (
    (console !== null ? mine.find((e) => e.console === console) : undefined) ?? mine.find((e) => !e.signaled)
  );
}

/** The console instance an app names in its request meta (`console`), so a reload can take over its seat. */
export function consoleOf(meta: RobotMeta | undefined): string | null {
  const c = meta?.['console'];
  return typeof c === 'string' && c.length > 0 ? c : null;
}
