import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RTCPeerConnection } from 'werift';
import { fixSenderReportClock, ntpTimestamp, rtpAfter } from '../src/transport/werift/sender-report-clock.js';

test('NTP timestamps: seconds since 1900 and a binary fraction of the second', () => {
  // 2026-01-01T00:00:00.5Z: 3,976,214,400 s after 1900, and half a second is 2^31 in the fraction.
  const t = ntpTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  assert.equal(t >> 32n, 3_976_214_400n);
  assert.equal(t & 0xffffffffn, 2n ** 31n);
  const quarter = ntpTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
  assert.equal(quarter & 0xffffffffn, 2n ** 30n);
  // Monotonic across a second boundary (werift's own value jumped back at every tenth of a second).
  const before = ntpTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 999.9));
  const after = ntpTimestamp(Date.UTC(2026, 0, 1, 0, 0, 1, 0));
  assert.ok(after > before);
});

test('a report pairs the current time with the RTP timestamp carried forward from the last packet sent', async () => {
  let now = Date.UTC(2026, 0, 1, 0, 0, 0, 0);
  const sender = { ntpTimestamp: 0n, rtpTimestamp: 0, codec: { clockRate: 90_000 } };
  assert.equal(
    fixSenderReportClock(sender, () => now),
    true,
  );
  // Before anything was sent werift's values stand.
  assert.equal(sender.ntpTimestamp, 0n);
  // werift sends a packet of the frame stamped 1,000,000 (and writes its own, wrong, NTP time).
  sender.ntpTimestamp = 12345n;
  sender.rtpTimestamp = 1_000_000;
  // The report goes out 400 ms later: it names that instant and the RTP time 400 ms on (36,000 ticks at 90 kHz).
  now += 400;
  const ntp = sender.ntpTimestamp;
  const rtp = sender.rtpTimestamp;
  assert.equal(ntp, ntpTimestamp(now));
  assert.equal(rtp, 1_036_000);
  // Read twice by the same report (werift reads the NTP time again for its round-trip bookkeeping): the same.
  now += 1;
  assert.equal(sender.ntpTimestamp, ntp);
  assert.equal(sender.rtpTimestamp, rtp);
  // Wraps at 2^32; audio at 48 kHz.
  assert.equal(rtpAfter(2 ** 32 - 10, 1, 48_000), 38);
  assert.equal(fixSenderReportClock({}), false, 'not a werift sender');

  // The werift in use has the fields this replaces.
  const pc = new RTCPeerConnection();
  try {
    const t = pc.addTransceiver('video', { direction: 'sendonly' });
    assert.equal(fixSenderReportClock(t.sender), true);
  } finally {
    await pc.close();
  }
});
