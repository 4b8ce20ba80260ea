// Keeps the selected ICE pair's round trip current, so that werift's consent checks wait long enough.
//
// werift 0.24.4 waits 2 x the pair's round trip + 200 ms (at least 500 ms) for each consent response, and it
// measures that round trip only when a response arrives in time. When the path's delay grows after the connection
// is up (a hand-over to a satellite or congested cellular link), every response comes too late, the round trip is
// never updated, and 30 s later werift declares the transport failed: in the network lab, 300 ms one way made the
// robot drop a working session and need an ICE restart (about 2 s frozen). The app's receiver reports measure the
// same path once a second; their round trip is copied onto the pair when it is longer than what werift has.
import { connectionOf } from './ice-nudge.js';

/** `rttSeconds` from RTCP: raise the selected pair's round trip to it. False when there is no pair (or werift changed). */
export function raisePairRtt(pc: unknown, rttSeconds: number): boolean {
  const pair = connectionOf(pc)?.nominated;
  if (!pair || !Number.isFinite(rttSeconds) || rttSeconds <= 0) return false;
  if (pair.rtt === undefined || pair.rtt < rttSeconds) pair.rtt = rttSeconds;
  return true;
}
