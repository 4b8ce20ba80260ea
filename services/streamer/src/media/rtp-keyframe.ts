// Spots the packets that open a keyframe in an RTP stream without parsing whole frames: where a joining viewer's
// stream and a layer switch may start, and how the streamer counts the keyframes it sends (PLI handling is
// verified by counting them).
import type { VideoCodecName } from '../config.js';

/** Offset of the RTP payload, past the fixed header, CSRCs and header extension; -1 when malformed. */
function rtpPayloadOffset(packet: Buffer): number {
  if (packet.length < 12) return -1;
  const first = packet[0] ?? 0;
  let offset = 12 + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset < packet.length ? offset : -1;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/**
 * A packet that may open a keyframe: an IDR slice, or the sequence parameter set that leads an IDR access unit
 * (x264 writes SPS/PPS before every IDR, and rtph264pay aggregates them into a STAP-A ahead of the IDR's
 * fragments). A stream, a join hold or a layer switch that began at the IDR packet would leave the parameter sets
 * behind, and Chromium cannot decode an IDR whose PPS it has not seen (measured on relayed sessions: "No PPS with
 * id 0", a PLI at once, and the first picture ~500 ms late, the keyframe limiter's window).
 */
function h264StartsKeyframe(payload: Buffer): boolean {
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === NAL_IDR || type === NAL_SPS) return true;
  if (type === NAL_FU_A) {
    const fu = payload[1] ?? 0;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === NAL_IDR || (fu & 0x1f) === NAL_SPS);
  }
  if (type === NAL_STAP_A) {
    let i = 1;
    while (i + 2 < payload.length) {
      const size = payload.readUInt16BE(i);
      const nal = (payload[i + 2] ?? 0) & 0x1f;
      if (nal === NAL_IDR || nal === NAL_SPS) return true;
      i += 2 + size;
    }
  }
  return false;
}

function vp8StartsKeyframe(payload: Buffer): boolean {
  // RFC 7741: payload descriptor, then the VP8 payload header whose P bit is 0 on keyframes.
  const d = payload[0] ?? 0;
  const start = (d & 0x10) !== 0 && (d & 0x07) === 0;
  if (!start) return false;
  let i = 1;
  if (d & 0x80) {
    const x = payload[i] ?? 0;
    i += 1;
    if (x & 0x80) i += ((payload[i] ?? 0) & 0x80) !== 0 ? 2 : 1;
    if (x & 0x40) i += 1;
    if (x & 0x30) i += 1;
  }
  return i < payload.length && ((payload[i] ?? 1) & 0x01) === 0;
}

export function startsKeyframe(codec: VideoCodecName, packet: Buffer): boolean {
  const offset = rtpPayloadOffset(packet);
  if (offset < 0) return false;
  const payload = packet.subarray(offset);
  return codec === 'h264' ? h264StartsKeyframe(payload) : vp8StartsKeyframe(payload);
}

/**
 * An H.264 packet carrying only SPS/PPS and the marker bit: what rtph264pay sends on its own when a keyframe is
 * forced (its answer to the force-key-unit event's all-headers flag), stamped with the keyframe's timestamp but
 * closing a "frame" of its own. Chromium then sees two frames with one timestamp, fails the keyframe and asks for
 * another, for ever (measured: a PLI after every forced keyframe). The keyframe itself carries SPS/PPS in-band.
 */
export function isStandaloneParameterSets(packet: Buffer): boolean {
  if (((packet[1] ?? 0) & 0x80) === 0) return false;
  const offset = rtpPayloadOffset(packet);
  if (offset < 0) return false;
  const payload = packet.subarray(offset);
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === NAL_SPS || type === NAL_PPS) return true;
  if (type !== NAL_STAP_A) return false;
  let i = 1;
  let any = false;
  while (i + 2 < payload.length) {
    const size = payload.readUInt16BE(i);
    const t = (payload[i + 2] ?? 0) & 0x1f;
    if (t !== NAL_SPS && t !== NAL_PPS) return false;
    any = true;
    i += 2 + size;
  }
  return any;
}
