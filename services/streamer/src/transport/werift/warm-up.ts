// One loopback session through the robot's own transport adapter at start-up, so the first operator after a boot
// does not wait for V8 to compile werift. Measured with the first-frame bench (same process, same Chromium): on a
// cold process the robot answered 175-235 ms after the offer and finished DTLS 90-140 ms after ICE; once the
// process had served one session, 45 ms and 20 ms. Nothing else about the first session differed much (its
// pipeline start and first keyframe took about as long as on later ones).
//
// The offerer is a plain werift peer asking for what a browser asks for (H.264 video and Opus audio, to
// receive); the answerer is the adapter itself (PeerSessionFactory), so the code warmed is the code a viewer
// runs: the offer, the answer with its SDP fixes, ICE, DTLS, SRTP and RTCP on both sides, a few packets of each.
import { RTCPeerConnection, type MediaStreamTrack } from 'werift';
import { withoutImplicitStun } from '@robostream/protocol/ice-server-probe';
import type { PeerSession, PeerSessionFactory } from '../peer-session.js';
import { weriftCodecs, weriftHeaderExtensions } from './codecs.js';

const PACKETS = 20;

/** Runs the warm-up session; resolves with its duration in ms, or rejects after `timeoutMs` or on an error. */
export async function warmUpTransport(createSession: PeerSessionFactory, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const offerer = new RTCPeerConnection({
    iceServers: [],
    bundlePolicy: 'max-bundle',
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: weriftCodecs('h264'),
    headerExtensions: weriftHeaderExtensions,
  });
  const session = createSession('transport-warm-up', {
    iceServers: [],
    iceTransportPolicy: 'all',
    icePortRange: null,
    includeLoopback: true,
    videoCodec: 'h264',
    playoutDelayMaxMs: 0,
    bandwidth: { minKbps: 150, maxKbps: 4000, startKbps: 1000 },
    completeAnswer: false,
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([handshake(offerer, session), deadline]);
    return performance.now() - started;
  } finally {
    clearTimeout(timer);
    await Promise.allSettled([session.close(), offerer.close()]);
  }
}

async function handshake(offerer: RTCPeerConnection, session: PeerSession): Promise<void> {
  offerer.addTransceiver('video', { direction: 'recvonly' });
  offerer.addTransceiver('audio', { direction: 'recvonly' });
  const offerGathered = gathered(offerer);
  const offer = await offerer.createOffer();
  // Without it werift's offerer queries a public STUN host and gathers until that times out (5 s in the network
  // lab's namespaces, where nothing outside answers); the adapter's answerer does the same on its own.
  withoutImplicitStun(offerer, []);
  await offerer.setLocalDescription(offer);
  await offerGathered;
  const answerGathered = new Promise<void>((resolve) =>
    session.onLocalCandidate((c) => (c === null || c.candidate === '' ? resolve() : undefined)),
  );
  const connected = new Promise<void>((resolve, reject) =>
    session.onConnectionState((s) =>
      s === 'connected' ? resolve() : s === 'failed' ? reject(new Error('ICE failed')) : undefined,
    ),
  );
  const offered = await session.applyOffer(offerer.localDescription!.sdp);
  const video = offered.find((m) => m.kind === 'video');
  const audio = offered.find((m) => m.kind === 'audio');
  if (!video || !audio) throw new Error('the warm-up offer lost a media section');
  const tracks = [session.send(video.mid, 'h264'), session.send(audio.mid, 'opus')];
  await session.createAnswer();
  await answerGathered;
  await offerer.setRemoteDescription({ type: 'answer', sdp: session.localDescription()! });
  await connected;
  const received = new Promise<void>((resolve) => {
    let n = 0;
    const count = (track: MediaStreamTrack): void =>
      void track.onReceiveRtp.subscribe(() => {
        if (++n === PACKETS) resolve();
      });
    // werift makes the receive tracks when the answer is applied (already done) or at their first packet.
    for (const t of offerer.getTransceivers()) {
      t.receiver.tracks.forEach(count);
      t.onTrack.subscribe(count);
    }
  });
  // Packets of each kind, through SRTP both ways (and the offerer's RTCP back).
  for (let i = 0; i < PACKETS; i++)
    for (const [k, track] of tracks.entries())
      track.write(rtp(k === 0 ? 96 : 111, i, 600, k === 0 && i === 0));
  await received;
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
  });
}

/**
 * A minimal RTP packet (the send track rewrites what the session negotiated). The first video packet is an H.264
 * IDR slice: a video send track sends nothing to a new app before a keyframe.
 */
function rtp(payloadType: number, seq: number, payloadBytes: number, keyframe = false): Buffer {
  const b = Buffer.alloc(12 + payloadBytes);
  b[0] = 0x80;
  b[1] = 0x80 | payloadType;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(0x1234, 8);
  if (keyframe) b[12] = 0x65;
  return b;
}
