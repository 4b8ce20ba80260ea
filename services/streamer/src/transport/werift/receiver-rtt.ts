// Lets a receive-only app measure its round trip to the robot (RTCP XR, RFC 3611: the app's Receiver Reference
// Time report, answered with a DLRR block).
//
// Why it matters: Chromium re-requests a lost packet (NACK) once per round trip, and a receiver that sends no media
// of its own never learns the round trip from sender reports, so it assumes 100 ms. On a lossy path a packet whose
// NACK or retransmission is lost then waits 100 ms per try; two failed tries freeze the picture (at 10 % loss each
// way that happened about every 2 s in the network lab). With the measured round trip (a few ms on a LAN, tens on
// LTE) the next try goes out at once.
//
// Chromium sends the report only when its local description lists `a=rtcp-fb:<pt> rrtr` for the video codec (the
// web app adds it to its offer with withReceiverRtt from @robostream/protocol/client), and werift 0.24.4 drops XR packets while
// parsing, so the decrypted compound is read here before werift parses it.

/** RTCP packet type of an extended report. */
const XR = 207;
/** XR block types: Receiver Reference Time, and the DLRR answering it. */
const RRTR = 4;
const DLRR = 5;

export interface ReferenceTime {
  /** The SSRC the app sent its report from (its receiver's local SSRC): the DLRR must name it. */
  ssrc: number;
  /** The middle 32 bits of the report's NTP timestamp. */
  lastRr: number;
}

/** The Receiver Reference Time reports in a decrypted RTCP compound packet; anything malformed is skipped. */
export function referenceTimes(compound: Buffer): ReferenceTime[] {
  const found: ReferenceTime[] = [];
  let pos = 0;
  while (pos + 4 <= compound.length) {
    const version = compound[pos]! >> 6;
    const type = compound[pos + 1]!;
    const end = pos + (compound.readUInt16BE(pos + 2) + 1) * 4;
    if (version !== 2 || end > compound.length) break;
    if (type === XR && end - pos >= 8) {
      const ssrc = compound.readUInt32BE(pos + 4);
      let block = pos + 8;
      while (block + 4 <= end) {
        const blockType = compound[block]!;
        const blockEnd = block + 4 + compound.readUInt16BE(block + 2) * 4;
        if (blockEnd > end) break;
        if (blockType === RRTR && blockEnd - block === 12) {
          const seconds = compound.readUInt32BE(block + 4);
          const fraction = compound.readUInt32BE(block + 8);
          found.push({ ssrc, lastRr: (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0 });
        }
        block = blockEnd;
      }
    }
    pos = end;
  }
  return found;
}

/**
 * An XR packet from `senderSsrc` with one DLRR sub-block per report answered. `delay` is in 1/65536 s; answering
 * at once, it is the time the report waited here.
 */
export function dlrrPacket(
  senderSsrc: number,
  answers: readonly (ReferenceTime & { delay: number })[],
): Buffer {
  const blockWords = answers.length * 3;
  const out = Buffer.alloc(8 + 4 + blockWords * 4);
  out[0] = 0x80;
  out[1] = XR;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  out[8] = DLRR;
  out.writeUInt16BE(blockWords, 10);
  answers.forEach((a, i) => {
    const at = 12 + i * 12;
    out.writeUInt32BE(a.ssrc >>> 0, at);
    out.writeUInt32BE(a.lastRr >>> 0, at + 4);
    out.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.round(a.delay))) >>> 0, at + 8);
  });
  return out;
}

/** The werift 0.24.4 DtlsTransport fields used here (private in its typings). */
interface DtlsInternals {
  srtcp?: { decrypt(data: Buffer): Buffer };
  sendRtcp(packets: { serialize(): Buffer }[]): Promise<unknown>;
}

/**
 * Answers every Receiver Reference Time report the app sends on this transport with a DLRR from `senderSsrc()`
 * (a video sender's SSRC; null: nothing to answer from yet). Returns false when werift's internals are not the
 * ones this was written against (the app then keeps its 100 ms default).
 */
export function answerReferenceTimes(dtlsTransport: unknown, senderSsrc: () => number | null): boolean {
  const dtls = dtlsTransport as Partial<DtlsInternals> | null;
  if (!dtls || typeof dtls.sendRtcp !== 'function' || !('srtcp' in dtls)) return false;
  const send = dtls.sendRtcp.bind(dtls);
  const wrap = (session: DtlsInternals['srtcp']): DtlsInternals['srtcp'] => {
    if (!session || typeof session.decrypt !== 'function') return session;
    const decrypt = session.decrypt.bind(session);
    session.decrypt = (data: Buffer): Buffer => {
      const plain = decrypt(data);
      const reports = referenceTimes(plain);
      const ssrc = reports.length > 0 ? senderSsrc() : null;
      if (ssrc !== null) {
        const packet = dlrrPacket(
          ssrc,
          reports.map((r) => ({ ...r, delay: 0 })),
        );
        send([{ serialize: () => packet }]).catch(() => undefined);
      }
      return plain;
    };
    return session;
  };
  // werift makes a new SRTCP session on every key change (ICE restart): wrap each one as it is set.
  let current = wrap(dtls.srtcp);
  Object.defineProperty(dtls, 'srtcp', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (next: DtlsInternals['srtcp']) => {
      current = wrap(next);
    },
  });
  return true;
}
