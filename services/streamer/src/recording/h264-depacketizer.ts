// Rebuilds H.264 access units (Annex B, one per picture) from the RTP packets the shared encoder sends viewers
// (RFC 6184: single NAL units, STAP-A, FU-A; rtph264pay emits nothing else in non-interleaved mode).
// Working from the RTP that already leaves the appsink costs one copy per NAL and no change to the pipeline: a tap
// before the payloader would need a tee, a second appsink and one more blocked libuv thread per camera.
// A lost packet loses its picture and every picture after it until the next keyframe (a recording never holds a
// picture that would decode to garbage).

const START_CODE = Buffer.from([0, 0, 0, 1]);
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

export interface AccessUnit {
  /** 90 kHz RTP timestamp of the picture. */
  rtpTimestamp: number;
  /** Annex B byte stream of the picture's NAL units (SPS/PPS included when the encoder sent them). */
  data: Buffer;
  /** An IDR picture: a decoder can start here. */
  keyframe: boolean;
  /** Carries SPS (a recording file must start with one). */
  hasParameterSets: boolean;
}

export interface DepacketizerStats {
  accessUnits: number;
  /** Pictures dropped because a packet was missing or malformed. */
  dropped: number;
}

/** Offset of the RTP payload past header, CSRCs and extension; -1 when malformed. */
export function rtpPayloadOffset(packet: Buffer): number {
  if (packet.length < 12 || (packet[0] ?? 0) >> 6 !== 2) return -1;
  const first = packet[0] ?? 0;
  let offset = 12 + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (first & 0x20) end -= packet[packet.length - 1] ?? 0; // padding
  return offset < end ? offset : -1;
}

export class H264Depacketizer {
  private nals: Buffer[] = [];
  private timestamp: number | null = null;
  private fu: Buffer[] | null = null;
  private lastSeq: number | null = null;
  /** Set after a loss: pictures are dropped until a keyframe. */
  private broken = false;
  private pictureBroken = false;
  readonly stats: DepacketizerStats = { accessUnits: 0, dropped: 0 };

  constructor(private readonly emit: (unit: AccessUnit) => void) {}

  /** Feeds one RTP packet; emits an access unit when its marker bit closes a picture. */
  push(packet: Buffer): void {
    const offset = rtpPayloadOffset(packet);
    if (offset < 0) return;
    const seq = packet.readUInt16BE(2);
    const ts = packet.readUInt32BE(4);
    const marker = ((packet[1] ?? 0) & 0x80) !== 0;
    if (this.lastSeq !== null && seq !== ((this.lastSeq + 1) & 0xffff)) this.lose();
    this.lastSeq = seq;
    if (this.timestamp !== null && ts !== this.timestamp) this.finish(); // a picture whose marker got lost
    this.timestamp = ts;
    const payload = packet.subarray(
      offset,
      packet.length - ((packet[0] ?? 0) & 0x20 ? (packet[packet.length - 1] ?? 0) : 0),
    );
    this.payload(payload);
    if (marker) this.finish();
  }

  private payload(p: Buffer): void {
    const type = (p[0] ?? 0) & 0x1f;
    if (type === NAL_FU_A) {
      if (p.length < 2) return this.corrupt();
      const header = p[1] ?? 0;
      const start = (header & 0x80) !== 0;
      const end = (header & 0x40) !== 0;
      if (start) this.fu = [Buffer.from([((p[0] ?? 0) & 0xe0) | (header & 0x1f)])];
      else if (!this.fu) return this.corrupt();
      this.fu.push(p.subarray(2));
      if (end) {
        this.nals.push(Buffer.concat(this.fu));
        this.fu = null;
      }
      return;
    }
    if (this.fu) this.corrupt(); // an FU-A that never ended
    if (type === NAL_STAP_A) {
      let i = 1;
      while (i + 2 <= p.length) {
        const size = p.readUInt16BE(i);
        if (size === 0 || i + 2 + size > p.length) return this.corrupt();
        this.nals.push(p.subarray(i + 2, i + 2 + size));
        i += 2 + size;
      }
      return;
    }
    if (type >= 1 && type <= 23) this.nals.push(p);
    // Other types (STAP-B, MTAP, FU-B) are interleaved-mode only: never sent by rtph264pay.
  }

  private corrupt(): void {
    this.fu = null;
    this.pictureBroken = true;
  }

  private lose(): void {
    this.fu = null;
    this.pictureBroken = true;
    this.broken = true;
  }

  private finish(): void {
    const nals = this.nals;
    const timestamp = this.timestamp;
    const pictureBroken = this.pictureBroken || this.fu !== null;
    this.nals = [];
    this.fu = null;
    this.timestamp = null;
    this.pictureBroken = false;
    if (timestamp === null) return;
    if (pictureBroken) {
      this.broken = true;
      this.stats.dropped++;
      return;
    }
    if (nals.length === 0) return;
    const types = nals.map((n) => (n[0] ?? 0) & 0x1f);
    const keyframe = types.includes(NAL_IDR);
    if (this.broken && !keyframe) {
      this.stats.dropped++;
      return;
    }
    this.broken = false;
    const parts: Buffer[] = [];
    for (const n of nals) parts.push(START_CODE, n);
    this.stats.accessUnits++;
    this.emit({
      rtpTimestamp: timestamp,
      data: Buffer.concat(parts),
      keyframe,
      hasParameterSets: types.includes(NAL_SPS),
    });
  }
}
