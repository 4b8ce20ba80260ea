// What the robot negotiates with werift: one video codec per session (H.264 or VP8) and Opus, each with NACK, PLI
// and transport-wide congestion feedback, and the transport-wide sequence number header extension on every RTP
// packet, so the app reports when each packet arrived (the send-side bandwidth estimator needs exactly that).
import {
  SessionDescription,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
  useVP8,
  type RTCRtpCodecParameters,
  type RTCRtpTransceiver,
} from 'werift';
import type { MediaDirection, OfferedMedia, SendCodec } from '../peer-session.js';
import { badOffer, checkOffer } from '@robostream/protocol/client';

// REMB stays negotiated for apps without transport-cc (the loss/REMB estimator then drives the encoder).
// rrtr: the app may send Receiver Reference Time reports, answered so it knows its round trip (receiver-rtt.ts).
const videoFeedback = () => [useNACK(), usePLI(), useREMB(), useTWCC(), { type: 'rrtr' }];

export function weriftCodecs(videoCodec: 'h264' | 'vp8') {
  return {
    video: [
      videoCodec === 'vp8'
        ? useVP8({ rtcpFeedback: videoFeedback() })
        : useH264({ rtcpFeedback: videoFeedback() }),
    ],
    audio: [useOPUS({ rtcpFeedback: [useTWCC()] })],
  };
}

/**
 * Playout delay (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay): the sender bounds the receiver's
 * jitter buffer. Chromium offers it on video; the id used is the app's (from its offer).
 */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';

export const weriftHeaderExtensions = {
  video: [useSdesMid(), useTransportWideCC(), { id: 6, uri: PLAYOUT_DELAY_URI }],
  audio: [useSdesMid(), useTransportWideCC()],
};

/** The extension's 3 bytes: minimum and maximum delay, 12 bits each, in 10 ms units. */
export function playoutDelayPayload(minMs: number, maxMs: number): Buffer {
  const min = Math.min(0xfff, Math.round(minMs / 10));
  const max = Math.min(0xfff, Math.max(min, Math.round(maxMs / 10)));
  return Buffer.from([min >> 4, ((min & 0xf) << 4) | (max >> 8), max & 0xff]);
}

/**
 * The offer's audio and video m-lines, parsed with werift's own SDP parser; BadOfferError
 * (@robostream/protocol/client) for an offer that is not one.
 */
export function parseOfferedMedia(offerSdp: string): OfferedMedia[] {
  checkOffer(offerSdp);
  let parsed: SessionDescription;
  try {
    parsed = SessionDescription.parse(offerSdp);
  } catch (err) {
    throw badOffer('the offer cannot be read', err);
  }
  return parsed.media
    .filter((m) => m.kind === 'audio' || m.kind === 'video')
    .map((m) => ({
      mid: m.rtp.muxId ?? '',
      kind: m.kind as 'audio' | 'video',
      direction: (m.port === 0 ? 'inactive' : (m.direction ?? 'sendrecv')) as MediaDirection,
      codecs: m.rtp.codecs.map((c) => c.name.toLowerCase()),
    }));
}

// H.264 packetization-mode=1 with a Baseline or Constrained Baseline profile is what the encoders produce.
function h264Rank(codec: RTCRtpCodecParameters): number {
  const p = codec.parameters ?? '';
  const mode1 = /packetization-mode=1/.test(p);
  const baseline = /profile-level-id=42/i.test(p);
  return (mode1 ? 2 : 0) + (baseline ? 1 : 0);
}

/** One codec per m-line in the answer, and the sender stamps that payload type on every packet. */
export function narrowCodecs(t: RTCRtpTransceiver, codec: SendCodec): void {
  const candidates = t.codecs.filter((c) => c.name.toLowerCase() === codec);
  if (codec === 'h264') candidates.sort((a, b) => h264Rank(b) - h264Rank(a));
  const chosen = candidates[0];
  if (!chosen) throw new Error(`m-line ${t.mid} does not offer ${codec}`);
  t.codecs = [chosen];
  t.sender.codec = chosen;
}
