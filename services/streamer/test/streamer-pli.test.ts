// A new viewer's stream starts on a keyframe; a PLI from the app produces a keyframe, and a burst of PLIs is
// rate-limited. The app here is a werift peer,
// because a browser sends PLIs only when it decides to; it also sends Opus, the case in which werift misroutes
// PLIs to the audio receiver (the transport's workaround is what makes this pass).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { MediaStreamTrack, RTCPeerConnection, useH264, useOPUS, type RTCRtpTransceiver } from 'werift';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { parseLaunch } from '../src/media/gst-native.js';
import type { GstAppSink } from '../src/media/gst-native.js';
import { startsKeyframe } from '../src/media/rtp-keyframe.js';
import type { IceCandidateInit } from '../src/transport/peer-session.js';
import { waitFor } from './support/chromium-app.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

test(
  'a PLI from the app makes the shared encoder send a keyframe; a burst of PLIs costs at most two',
  { timeout: 60_000 },
  async () => {
    const config = loadConfig(
      {},
      {
        audioSink: 'counting',
        videoSink: 'none',
        lingerMs: 0,
        // Periodic keyframes far apart, so any keyframe seen after the PLI was forced by it.
        keyframeIntervalFrames: 3000,
        keyframeMinIntervalMs: 300,
      },
    );
    const core = await StreamerCore.start(config, { log });
    const app = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      codecs: { video: [useH264()], audio: [useOPUS()] },
    });
    // The app's microphone: real Opus RTP from GStreamer, written into werift.
    const mic = parseLaunch(
      'audiotestsrc is-live=true ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=111 ! appsink name=out sync=false',
    );
    const micTrack = new MediaStreamTrack({ kind: 'audio' });
    try {
      const video: RTCRtpTransceiver = app.addTransceiver('video', { direction: 'recvonly' });
      app.addTransceiver(micTrack, { direction: 'sendrecv' });
      let keyframes = 0;
      let packets = 0;
      let videoSsrc: number | undefined;
      /** The RTP timestamps of the frames the app received before its first keyframe packet. */
      const framesBeforeKeyframe = new Set<number>();
      video.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          packets++;
          videoSsrc = rtp.header.ssrc;
          if (startsKeyframe('h264', rtp.serialize())) keyframes++;
          if (keyframes === 0) framesBeforeKeyframe.add(rtp.header.timestamp);
        });
      });
      const appCandidates: IceCandidateInit[] = [];
      let viewerReady: ((c: IceCandidateInit) => void) | null = null;
      app.onIceCandidate.subscribe((c) => {
        if (!c) return;
        const init = {
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        };
        if (viewerReady) viewerReady(init);
        else appCandidates.push(init);
      });
      await app.setLocalDescription(await app.createOffer());
      const viewer = await core.openViewer(app.localDescription?.sdp ?? '', {
        onIceCandidate: (c) => {
          if (c) void app.addIceCandidate(c).catch(() => undefined);
        },
      });
      // The app's Opus gets its sink pipeline once the answer is handed over, not on the way to it.
      assert.deepEqual(core.introspect().sinks, [], 'no sink pipeline built before the answer went out');
      viewerReady = (c) => void viewer.addRemoteCandidate(c).catch(() => undefined);
      for (const c of appCandidates.splice(0)) viewerReady(c);
      await app.setRemoteDescription({ type: 'answer', sdp: viewer.answerSdp });

      const micSink = mic.findChild('out') as GstAppSink;
      mic.play();
      const pump = (): void =>
        micSink.pull((buf) => {
          if (!buf) return;
          micTrack.writeRtp(buf);
          pump();
        });
      pump();

      // The keyframe asked for when the robot answered (held until DTLS was up) or when the connection came up.
      await waitFor(
        () => keyframes,
        (k) => k >= 1,
        'the keyframe sent on connect',
      );
      // The stream started on it, at its SPS/PPS packet: nothing the app could not decode came first.
      assert.equal(
        framesBeforeKeyframe.size,
        0,
        `the app got ${framesBeforeKeyframe.size} frame(s) before its first keyframe`,
      );
      await waitFor(
        () => core.introspect().sinks.find((s) => s.kind === 'audio')?.decodedBuffers ?? 0,
        (n) => n > 10,
        "the app's Opus decoded on the robot (so werift has an audio receiver to misroute to)",
      );
      await new Promise((r) => setTimeout(r, config.keyframeMinIntervalMs + 100));
      const pipeline = () => core.introspect().pipelines.find((p) => p.kind === 'video');
      const before = { keyframes, forced: pipeline()?.forcedKeyUnits ?? 0, packets };

      assert.ok(videoSsrc !== undefined);
      await video.receiver.sendRtcpPLI(videoSsrc);
      await waitFor(
        () => pipeline()?.forcedKeyUnits ?? 0,
        (n) => n === before.forced + 1,
        'the PLI to force a key unit',
      );
      await waitFor(
        () => keyframes,
        (k) => k > before.keyframes,
        'a keyframe after the PLI',
      );

      // Burst: five PLIs inside one rate-limit window -> one now (if the window is open) and one deferred.
      await new Promise((r) => setTimeout(r, config.keyframeMinIntervalMs + 100));
      const burstStart = pipeline()?.forcedKeyUnits ?? 0;
      const requestsStart = pipeline()?.keyframeRequests ?? 0;
      for (let i = 0; i < 5; i++) await video.receiver.sendRtcpPLI(videoSsrc);
      await waitFor(
        () => pipeline()?.keyframeRequests ?? 0,
        (n) => n >= requestsStart + 5,
        'the burst to reach the pipeline',
      );
      await new Promise((r) => setTimeout(r, config.keyframeMinIntervalMs * 2));
      const burstForced = (pipeline()?.forcedKeyUnits ?? 0) - burstStart;
      assert.ok(burstForced >= 1 && burstForced <= 2, `a burst of 5 PLIs forced ${burstForced} key units`);
      assert.ok(packets > before.packets);
    } finally {
      mic.stop();
      micTrack.stop();
      await app.close();
      await core.close();
    }
  },
);

test(
  "a PLI in the viewer's first second gets the joining window, not the limiter's",
  { timeout: 60_000 },
  async () => {
    const config = loadConfig(
      {},
      {
        audioSource: { kind: 'none' },
        audioSink: 'none',
        videoSink: 'none',
        lowLayerEnabled: false,
        lingerMs: 0,
        keyframeIntervalFrames: 3000,
        // A limiter window far longer than the wait below: a keyframe within it was the joining window's.
        keyframeMinIntervalMs: 10_000,
      },
    );
    const core = await StreamerCore.start(config, { log });
    const app = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      codecs: { video: [useH264()] },
    });
    try {
      const video = app.addTransceiver('video', { direction: 'recvonly' });
      let videoSsrc: number | undefined;
      video.onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe((rtp) => (videoSsrc = rtp.header.ssrc)),
      );
      await app.setLocalDescription(await app.createOffer());
      const viewer = await core.openViewer(app.localDescription?.sdp ?? '', {
        onIceCandidate: (c) => {
          if (c) void app.addIceCandidate(c).catch(() => undefined);
        },
      });
      await app.setRemoteDescription({ type: 'answer', sdp: viewer.answerSdp });
      const ssrc = await waitFor(
        () => videoSsrc,
        (s) => s !== undefined,
        'the first video packet',
      );
      const pipeline = () => core.introspect().pipelines.find((p) => p.kind === 'video');
      const forced = pipeline()?.forcedKeyUnits ?? 0;
      // The first keyframe, as if lost or not decodable: the app asks again at once.
      await video.receiver.sendRtcpPLI(ssrc!);
      await waitFor(
        () => pipeline()?.forcedKeyUnits ?? 0,
        (n) => n === forced + 1,
        'a keyframe for the joining PLI, well inside the 10 s limiter window',
        3000,
      );
    } finally {
      await app.close();
      await core.close();
    }
  },
);
