// No answer waits for an ICE server: with a TURN server configured, the robot answers with its host candidates
// and the relayed one follows, trickled, before the end of candidates; the app that adds it connects and gets
// video that starts on a keyframe. A caller that wants a complete answer (WHEP) still gets every candidate in it.
// End to end: a relay-only Chromium through signaling gets video from a robot that trickles its relayed candidate.
// Real coturn (TURN REST credentials), the real x264 pipeline and werift as the app.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { RTCPeerConnection, useH264, type RTCRtpTransceiver } from 'werift';
import { loadConfig, type IceServerConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { startsKeyframe } from '../src/media/rtp-keyframe.js';
import type { IceCandidateInit } from '../src/transport/peer-session.js';
import { startCoturn, type Coturn } from '../../../test/support/coturn.js';
import type { RunningSignaling } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import type { StreamerService } from '../src/streamer-service.js';
import { waitFor } from './support/chromium-app.js';
import type { MediaAppPage } from './support/signaling-page.js';
import { startTurnRobot, type TurnRobot } from './support/turn-robot.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

describe('the answer and the ICE servers', { timeout: 120_000 }, () => {
  const secret = randomBytes(24).toString('hex');
  let turn: Coturn;
  let core: StreamerCore;
  let iceServers: IceServerConfig[];

  before(async () => {
    // A short allocation lifetime: werift keeps its refresh timer after close (test/support/coturn.ts).
    turn = await startCoturn({ secret, maxAllocateLifetimeSec: 30 });
    const username = `${Math.floor(Date.now() / 1000) + 600}:robot`;
    const credential = createHmac('sha1', secret).update(username).digest('base64');
    iceServers = [{ urls: turn.url, username, credential }];
    core = await StreamerCore.start(
      loadConfig(
        {},
        {
          audioSource: { kind: 'none' },
          audioSink: 'none',
          videoSink: 'none',
          lingerMs: 60_000,
          videoSources: [{ id: 'front', kind: 'test', width: 320, height: 240, framerate: 30 }],
        },
      ),
      { log },
    );
  });

  after(async () => {
    await core?.close();
    await turn?.kill();
  });

  async function appOffer(): Promise<{ app: RTCPeerConnection; video: RTCRtpTransceiver; offer: string }> {
    const app = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      codecs: { video: [useH264()] },
    });
    const video = app.addTransceiver('video', { direction: 'recvonly' });
    await app.setLocalDescription(await app.createOffer());
    await new Promise<void>((resolve) => {
      if (app.iceGatheringState === 'complete') return resolve();
      app.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
    });
    return { app, video, offer: app.localDescription?.sdp ?? '' };
  }

  test('trickled: host candidates in the answer, the relayed one after it, then the end', async () => {
    const { app, video, offer } = await appOffer();
    const trickled: (string | null)[] = [];
    let answered = false;
    let relayBeforeAnswer = false;
    try {
      const viewer = await core.openViewer(offer, {
        iceServers,
        onIceCandidate: (c: IceCandidateInit | null) => {
          trickled.push(c ? c.candidate : null);
          if (c && / typ relay /.test(c.candidate) && !answered) relayBeforeAnswer = true;
          if (c && answered) void app.addIceCandidate(c).catch(() => undefined);
        },
      });
      answered = true;
      assert.doesNotMatch(viewer.answerSdp, / typ relay /, 'the answer waited for the TURN allocation');
      assert.doesNotMatch(viewer.answerSdp, /a=end-of-candidates/, 'the answer claims every candidate');
      assert.match(viewer.answerSdp, / typ host /);
      assert.equal(relayBeforeAnswer, false);

      let packets = 0;
      let keyframeSeen = false;
      /** The RTP timestamps the app got before its first keyframe packet. */
      const framesBefore = new Set<number>();
      video.onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe((rtp) => {
          packets++;
          keyframeSeen ||= startsKeyframe('h264', rtp.serialize());
          if (!keyframeSeen) framesBefore.add(rtp.header.timestamp);
        }),
      );
      await app.setRemoteDescription({ type: 'answer', sdp: viewer.answerSdp });

      await waitFor(
        () => trickled,
        (t) => t.includes(null),
        'the end of candidates',
      );
      const relay = trickled.findIndex((c) => c !== null && / typ relay /.test(c));
      assert.ok(relay >= 0, `no relayed candidate trickled: ${JSON.stringify(trickled)}`);
      assert.equal(trickled.indexOf(null), trickled.length - 1, 'a candidate after the end of candidates');
      assert.equal(trickled.filter((c) => c === null).length, 1, 'the end of candidates announced twice');

      await waitFor(
        () => packets,
        (n) => n > 20,
        'video packets at the app',
      );
      assert.equal(viewer.connectionState, 'connected');
      // Before the first IDR packet only the keyframe's own SPS/PPS packet (its timestamp) may come.
      assert.ok(keyframeSeen);
      assert.ok(framesBefore.size <= 1, `${framesBefore.size - 1} frame(s) before the first keyframe`);
      await viewer.close();
    } finally {
      await app.close();
    }
  });

  test('complete answer (WHEP): every candidate, the relayed one too, and the end in the answer', async () => {
    const { app, offer } = await appOffer();
    try {
      const viewer = await core.openViewer(offer, {
        iceServers,
        completeAnswer: true,
        onIceCandidate: () => {},
      });
      assert.match(viewer.answerSdp, / typ relay /);
      assert.match(viewer.answerSdp, / typ host /);
      await viewer.close();
    } finally {
      await app.close();
    }
  });
});

describe('trickled server candidates, end to end', { timeout: 120_000 }, () => {
  const keys = new TestKeys();
  const secret = randomBytes(24).toString('hex');
  const ROBOT = 'robot-trickle';
  let turn: Coturn;
  let signaling: RunningSignaling;
  let streamer: StreamerService;
  let page: MediaAppPage;
  let robot: TurnRobot | undefined;

  before(async () => {
    turn = await startCoturn({ secret, maxAllocateLifetimeSec: 30 });
    // The robot gathers everything (host and relayed); its relayed candidate is trickled after the answer.
    robot = await startTurnRobot(keys, ROBOT, turn, { log });
    ({ signaling, streamer, page } = robot);
  });

  after(async () => {
    await page?.close();
    await robot?.close();
    await turn?.kill();
  });

  test('a relay-only Chromium gets video from a robot that trickles its relayed candidate', async () => {
    await page.connect(signaling.url, await keys.app('operator', [ROBOT]));
    await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: true });
    const s = await page.framesBeyond(30, 'frames decoded by a relay-only app', 30_000);
    assert.equal(s.localCandidateType, 'relay');
    const viewer = streamer.core.viewers()[0];
    assert.ok(viewer);
    assert.equal((await viewer.stats()).state, 'connected');
  });
});
