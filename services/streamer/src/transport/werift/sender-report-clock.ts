// The clock in the robot's RTCP sender reports, made right.
//
// A sender report pairs an NTP wall-clock time with the RTP timestamp of the same instant; the app maps every frame
// to the robot's clock with it (lip sync between audio and video, and each frame's capture time, which the web app
// turns into its on-screen latency). werift 0.24.4 gets both halves wrong:
//  - the NTP fraction is the decimal digits after the point (0.5 s becomes 5/2^32 s): every report is off by up
//    to a second, by a different amount each time;
//  - the pair is the last packet's RTP timestamp with the time that packet was sent, reported up to a second
//    later, so the app takes an old instant for the report's own and places frames later than they were.
// Here the sender's two fields become accessors: werift's writes (one per packet) are kept as the last packet's
// timestamp and send time, and the report reads the current time with the RTP timestamp carried forward to it at the
// codec's clock rate. Frames are thereby mapped to when the robot sent them (capture and encode before that are not
// counted).

/** Milliseconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_EPOCH_OFFSET_MS = 2_208_988_800_000;
/** A report reads both fields at once; a new packet or this much time starts a new reading. */
const SNAPSHOT_MS = 100;

/** A 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, the fraction of a second in the low 32). */
export function ntpTimestamp(epochMs: number): bigint {
  const ms = epochMs + NTP_EPOCH_OFFSET_MS;
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.min(0xffffffff, Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32));
  return (BigInt(seconds % 2 ** 32) << 32n) | BigInt(fraction);
}

/** The RTP timestamp `elapsedMs` after `rtp` at `clockRate`, modulo 2^32. */
export function rtpAfter(rtp: number, elapsedMs: number, clockRate: number): number {
  return (rtp + Math.round((elapsedMs * clockRate) / 1000)) % 2 ** 32;
}

interface SenderFields {
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  codec?: { clockRate?: number };
}

/**
 * Makes a werift RTCRtpSender's reports carry the current time and the matching RTP timestamp. False (werift keeps
 * its own) when the sender's internals are not the ones this was written against.
 */
export function fixSenderReportClock(
  sender: unknown,
  nowMs: () => number = () => performance.timeOrigin + performance.now(),
): boolean {
  const s = sender as Partial<SenderFields> | null;
  if (!s || typeof s.ntpTimestamp !== 'bigint' || typeof s.rtpTimestamp !== 'number') return false;
  let lastRtp = s.rtpTimestamp;
  let lastSentMs: number | null = null;
  let rawNtp = s.ntpTimestamp;
  let snapshot: { ntp: bigint; rtp: number; atMs: number } | null = null;
  const read = (): { ntp: bigint; rtp: number } => {
    const now = nowMs();
    if (lastSentMs === null) return { ntp: rawNtp, rtp: lastRtp };
    if (!snapshot || now - snapshot.atMs > SNAPSHOT_MS) {
      const clockRate = s.codec?.clockRate ?? 90_000;
      snapshot = { ntp: ntpTimestamp(now), rtp: rtpAfter(lastRtp, now - lastSentMs, clockRate), atMs: now };
    }
    return snapshot;
  };
  const accessor = (
    name: 'ntpTimestamp' | 'rtpTimestamp',
    get: () => bigint | number,
    set: (v: never) => void,
  ) => Object.defineProperty(s, name, { configurable: true, enumerable: true, get, set });
  // werift writes both per packet, the NTP time first: only the RTP write marks "a packet was sent now" (one
  // clock read per packet).
  accessor(
    'ntpTimestamp',
    () => read().ntp,
    (v: bigint) => (rawNtp = v),
  );
  accessor(
    'rtpTimestamp',
    () => read().rtp,
    (v: number) => {
      lastRtp = v;
      lastSentMs = nowMs();
      snapshot = null;
    },
  );
  return true;
}
