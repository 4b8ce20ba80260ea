// End to end against the one-command local stack (scripts/dev-stack.sh: signaling + simulated robot + demo battery
// service + the built web app) with a real Chromium (fake camera and microphone). Screenshots go to
// test-artifacts/e2e/*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { mintToken } from '@robostream/protocol/auth';
import { generateSigningKeys, loadOrCreateDevKeys } from '@robostream/protocol/auth/keys';
import { eventually } from '../support/signaling.js';
import { startLocalStack, type LocalStack } from './support/local-stack.js';
import { changedPixels, sampleVideo, spread, type FrameSample } from './support/video-pixels.js';
import { launchChromium, type TestChromium } from '../support/chromium.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e');
const ROBOT = '[data-robot="sim-robot"]';
const FRONT = 'video[data-camera="front"]';

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent({ timeout: 5_000 })) ?? '';
}

async function attr(page: Page, selector: string, name: string): Promise<string | null> {
  return page.locator(selector).first().getAttribute(name, { timeout: 5_000 });
}

/** An offer a console page made: on a connection with video (media) or without (the gateway's data channel). */
interface OfferSeen {
  video: boolean;
  /** A media connection of the page was connected when it was made. */
  mediaUp: boolean;
  /** A video of the page showed a frame when it was made. */
  pictureShown: boolean;
}

async function logEntries(page: Page): Promise<string[]> {
  return page.locator('[data-testid=gateway-log] li').allTextContents();
}

describe('local stack in Chromium', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let keysDir: string;
  let browser: TestChromium | undefined;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];

  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    keysDir = mkdtempSync(join(tmpdir(), 'robostream-e2e-keys-'));
    stack = await startLocalStack(
      {
        DEV_KEYS_DIR: keysDir,
        // The robot decodes the operator's microphone into a counting sink, and logs per-session stats each second.
        STREAMER_AUDIO_SINK: 'counting',
        STREAMER_STATS_INTERVAL_MS: '1000',
        // One media seat: a second console is refused and must get in by itself once the seat is free.
        STREAMER_MAX_VIEWERS: '1',
        LOG_LEVEL: 'info',
      },
      process.env['E2E_ECHO'] === '1',
    );
    browser = await launchChromium({
      profilePrefix: 'robostream-e2e-chromium-',
      viewport: { width: 1440, height: 900 },
    });
    context = browser.context;
    // Everything Chromium refuses under the console's Content-Security-Policy, on every page of the run.
    // Refused loads and connections are console messages; a refused eval is an uncaught error of the page.
    context.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    context.on('weberror', (e) => {
      if (/Content Security Policy/i.test(e.error().message)) cspViolations.push(e.error().message);
    });
    // Every peer connection a page made an offer on, to see the console's WebRTC warm-up (and that it is closed),
    // and each offer: whether it has video (media, or the gateway's data channel) and whether a media connection
    // of the page was up at that moment.
    await context.addInitScript(() => {
      const offered = new Set<RTCPeerConnection>();
      const offers: OfferSeen[] = [];
      (window as unknown as { __offered: Set<RTCPeerConnection> }).__offered = offered;
      (window as unknown as { __offers: OfferSeen[] }).__offers = offers;
      const createOffer = RTCPeerConnection.prototype.createOffer;
      RTCPeerConnection.prototype.createOffer = function (this: RTCPeerConnection, ...args: never[]) {
        // Inline on purpose: a named helper function would be wrapped by tsx in a __name() the page does not have.
        offers.push({
          video: this.getTransceivers().some((t) => t.receiver.track.kind === 'video'),
          mediaUp: [...offered].some(
            (pc) =>
              pc.connectionState === 'connected' &&
              pc.getTransceivers().some((t) => t.receiver.track.kind === 'video'),
          ),
          pictureShown: [...document.querySelectorAll('video')].some(
            (v) => v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA,
          ),
        });
        offered.add(this);
        return (createOffer as (...a: never[]) => Promise<RTCSessionDescriptionInit>).apply(this, args);
      } as typeof createOffer;
      // Every text frame the page sent to signaling.
      const sent: string[] = [];
      (window as unknown as { __sent: string[] }).__sent = sent;
      const wsSend = WebSocket.prototype.send;
      WebSocket.prototype.send = function (
        this: WebSocket,
        data: string | ArrayBufferLike | Blob | ArrayBufferView,
      ) {
        if (typeof data === 'string') sent.push(data);
        return wsSend.call(this, data);
      };
      // Videos the page laid out before any robot was opened (the console's render warm-up).
      const warmVideos: string[] = [];
      (window as unknown as { __warmVideos: string[] }).__warmVideos = warmVideos;
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (
              n instanceof HTMLElement &&
              n.querySelector('video') &&
              !document.querySelector('#robot-view')
            )
              warmVideos.push(`${n.className}:${getComputedStyle(n).visibility}`);
      }).observe(document, { childList: true, subtree: true });
      // When the page starts audio (an AudioContext, an <audio> playing): whether a frame was shown by then.
      const audioStarts: { what: string; pictureShown: boolean }[] = [];
      (window as unknown as { __audioStarts: typeof audioStarts }).__audioStarts = audioStarts;
      // A Proxy, and the check inline: a class or a function held in a const would be wrapped by tsx in a
      // __name() the page does not have.
      window.AudioContext = new Proxy(window.AudioContext, {
        construct(target, args: unknown[]) {
          const ctx = Reflect.construct(target, args) as AudioContext;
          audioStarts.push({
            what: 'AudioContext',
            pictureShown: [...document.querySelectorAll('video')].some(
              (v) => v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA,
            ),
          });
          return ctx;
        },
      });
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
        if (this instanceof HTMLAudioElement)
          audioStarts.push({
            what: 'audio',
            pictureShown: [...document.querySelectorAll('video')].some(
              (v) => v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA,
            ),
          });
        return play.call(this);
      };
    });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  });

  test('the printed URL signs in and the robot appears in the list with live presence', async () => {
    assert.match(stack.url, new RegExp(`^http://localhost:${stack.ports.web}/#token=`));
    const served = await page.goto(stack.url);
    assert.match(
      served?.headers()['content-security-policy'] ?? '',
      /script-src 'self'.*frame-ancestors 'none'/,
    );
    // The token leaves the address bar as soon as the page has read it.
    assert.doesNotMatch(page.url(), /token=/);
    await page.waitForSelector(`${ROBOT}[data-online="true"]`, { timeout: 20_000 });
    assert.match(await text(page, ROBOT), /sim-robot · gateway \+ media · 2 cam/);
    assert.equal(await attr(page, '[data-testid=signaling-state]', 'data-state'), 'ready');
    await shot('01-robot-list');
    // Before any robot is opened, the console has warmed WebRTC up with one offer on a connection it closed, and
    // made the robot's media connection ready: its offer set, waiting for the click.
    const offered = await page.waitForFunction(
      () => {
        const pcs = [...(window as unknown as { __offered: Set<RTCPeerConnection> }).__offered];
        const states = pcs.map((pc) => pc.signalingState).sort();
        return pcs.length >= 2 && states.includes('closed') && states.includes('have-local-offer') && states;
      },
      undefined,
      { timeout: 10_000 },
    );
    assert.deepEqual(
      await offered.jsonValue(),
      ['closed', 'have-local-offer'],
      'a warm-up and a prepared offer',
    );
    // The console laid a camera tile out once, invisible, and removed it: Chromium's first <video> style sheet and
    // fonts are paid before the click.
    assert.deepEqual(
      await page.evaluate(() => (window as unknown as { __warmVideos: string[] }).__warmVideos),
      ['render-warm-up:hidden'],
    );
    assert.equal(
      await page.evaluate(() => [...document.querySelectorAll('video')].length),
      0,
      'nothing of the robot is open yet, and the warm-up is gone',
    );
  });

  test('opening the robot plays every camera: frames are not blank and change over time', async () => {
    // The session request, with the prepared offer, leaves inside the click's own task: before the console builds
    // and renders the robot's view.
    const sentInClick = await page.evaluate((robot) => {
      const sent = (window as unknown as { __sent: string[] }).__sent;
      const before = sent.length;
      (document.querySelector(robot) as HTMLElement).click();
      return sent.slice(before).some((f) => f.includes('"session_open"') && f.includes('"endpoint":"media"'));
    }, ROBOT);
    assert.ok(sentInClick, 'the media session request is sent before the click handler returns');
    await page.waitForSelector('#robot-view[data-state="live"]', { timeout: 30_000 });
    // On the connection prepared before the click: no media offer was made after it.
    const media = await page.evaluate(() => {
      const pcs = [...(window as unknown as { __offered: Set<RTCPeerConnection> }).__offered];
      return pcs.map((pc) => ({
        state: pc.connectionState,
        video: pc.getTransceivers().some((t) => t.receiver.track.kind === 'video'),
      }));
    });
    assert.deepEqual(
      media.filter((m) => m.video).map((m) => m.state),
      ['closed', 'connected'],
      `the warm-up and the prepared connection, now the session's: ${JSON.stringify(media)}`,
    );
    // The candidates it had gathered went with the opening offer, and were not trickled again.
    const frames = (await page.evaluate(() => (window as unknown as { __sent: string[] }).__sent)).map(
      (f) =>
        JSON.parse(f) as {
          type: string;
          endpoint?: string;
          offer?: string;
          candidate?: { candidate: string };
        },
    );
    const opening = frames.find((f) => f.type === 'session_open' && f.endpoint === 'media');
    const inOffer = (opening?.offer ?? '').split('\r\n').filter((l) => l.startsWith('a=candidate:'));
    assert.ok(inOffer.length > 0, `the opening offer carries candidates: ${opening?.offer ?? 'none sent'}`);
    const trickled = frames.filter((f) => f.type === 'candidate').map((f) => `a=${f.candidate?.candidate}`);
    assert.deepEqual(
      trickled.filter((c) => inOffer.includes(c)),
      [],
      'no candidate of the offer is trickled too',
    );
    // The robot's audio starts (played, metered) only once the picture is there.
    const audio = await page.waitForFunction(
      () => {
        const starts = (window as unknown as { __audioStarts: { what: string }[] }).__audioStarts;
        return (
          starts.some((a) => a.what === 'AudioContext') && starts.some((a) => a.what === 'audio') && starts
        );
      },
      undefined,
      { timeout: 10_000 },
    );
    const starts = (await audio.jsonValue()) as { what: string; pictureShown: boolean }[];
    assert.ok(
      starts.every((a) => a.pictureShown),
      `audio started after the first frame: ${JSON.stringify(starts)}`,
    );
    const first = await eventually(
      async () => (await sampleVideo(page, FRONT)) ?? undefined,
      20_000,
      'a decoded front frame',
    );
    assert.equal(first.width, 960);
    assert.equal(first.height, 540);
    assert.ok(spread(first) > 100, `front frame is not blank (grey spread ${spread(first)})`);
    // The ball moves: a later frame differs in clearly changed pixels.
    let later: FrameSample | null = null;
    await eventually(
      async () => {
        later = await sampleVideo(page, FRONT);
        return later && later.currentTime > first.currentTime && changedPixels(first, later) >= 4;
      },
      10_000,
      'the front picture to change',
    );
    const rear = await eventually(
      async () => (await sampleVideo(page, 'video[data-camera="rear"]')) ?? undefined,
      20_000,
      'a rear frame',
    );
    assert.equal(rear.width, 640);
    assert.ok(spread(rear) > 100, 'rear frame (colour bars) is not blank');
    // The overlay shows live figures and the path.
    const overlay = await eventually(
      async () => {
        const t = await text(page, `figure[data-camera="front"] [data-testid=stats]`);
        return /RTT \d+ ms/.test(t) && /fps/.test(t) && t;
      },
      10_000,
      'stats overlay figures',
    );
    assert.match(overlay, /loss \d+\.\d%/);
    assert.match(overlay, /direct/);
    // How late the picture is, from the frames' capture times: Chromium has them only with the round trip the
    // robot's RTCP XR answers give it.
    const latencyMs = await eventually(
      async () => {
        const v = await attr(page, `figure[data-camera="front"] [data-testid=stats]`, 'data-latency-ms');
        return v ? Number(v) : undefined;
      },
      10_000,
      'the capture-to-display latency on the overlay',
    );
    // Chromium maps the robot's clock with half the measured round trip, so on a loaded loopback the figure can be
    // a few ms under zero (one CI run: -7 ms); a wrong sender-report clock puts it hundreds of ms off either way.
    assert.ok(latencyMs > -50 && latencyMs < 2000, `latency ${latencyMs} ms on a local stack`);
    assert.match(await text(page, `figure[data-camera="front"] [data-testid=stats]`), /latency \d+ ms/);
    assert.equal(await attr(page, '[data-testid=path]', 'data-path'), 'direct');
    await shot('02-robot-view');
  });

  test("the operator's microphone reaches the robot", async () => {
    assert.equal(await attr(page, '[data-testid=mic]', 'aria-pressed'), 'false');
    // While the microphone is off the page sends no audio, and the robot has built nothing to play it.
    const statsFrom = stack.lines.length;
    const idle = await eventually(
      () => stack.lines.slice(statsFrom).find((l) => /\[streamer\].*session stats/.test(l)),
      10_000,
      "a stats line of the robot's session",
    );
    assert.doesNotMatch(idle, /sinks=\S*audio/, 'no audio sink pipeline for a microphone that is off');
    const from = stack.lines.length;
    await page.click('[data-testid=mic]');
    await page.waitForSelector('[data-testid=mic][aria-pressed="true"]', { timeout: 10_000 });
    // The streamer's per-session stats line counts audio buffers decoded on the robot from the page's microphone.
    const decoded = () => {
      for (let i = stack.lines.length - 1; i >= from; i--) {
        const m = /\[streamer\].*session stats.*sinks=audio:(\d+)/.exec(stack.lines[i] ?? '');
        if (m) return Number(m[1]);
      }
      return 0;
    };
    const n1 = await eventually(() => decoded(), 20_000, 'a robot audio sink for the microphone');
    const n2 = await eventually(
      () => decoded() > Math.max(n1, 25) && decoded(),
      20_000,
      'decoded microphone buffers to grow on the robot',
    );
    assert.ok(n2 > 25);
    await page.click('[data-testid=mic]');
    await page.waitForSelector('[data-testid=mic][aria-pressed="false"]', { timeout: 10_000 });
  });

  test('push-to-talk: the robot decodes the operator only while the button is held', async () => {
    const from = stack.lines.length;
    const decoded = () => {
      for (let i = stack.lines.length - 1; i >= from; i--) {
        const m = /\[streamer\].*session stats.*sinks=audio:(\d+)/.exec(stack.lines[i] ?? '');
        if (m) return Number(m[1]);
      }
      return -1;
    };
    const settle = () => new Promise((r) => setTimeout(r, 2_500));
    // Released (the toggle was just switched off): the count stands still.
    await eventually(() => decoded() >= 0, 10_000, 'a session stats line');
    await settle();
    const idle = decoded();
    await settle();
    assert.ok(decoded() - idle <= 2, `decoded while released: ${idle} -> ${decoded()}`);

    const ptt = page.locator('[data-testid=ptt]');
    await ptt.hover();
    await page.mouse.down();
    let held: number;
    try {
      await page.waitForSelector('[data-testid=ptt][aria-pressed="true"]', { timeout: 5_000 });
      held = await eventually(
        () => decoded() > idle + 50 && decoded(),
        15_000,
        'decoded microphone buffers to grow while held',
      );
      // The outgoing level meter shows the fake microphone's tone (it is sampled a few times a second).
      await eventually(
        async () => Number(await attr(page, '[data-testid=level-out]', 'data-db')) > -60,
        10_000,
        'the outgoing level meter to show the tone',
      );
      // The robot publishes its voice state on the gateway: it cancels its echo, so its audio stays on.
      await page.waitForSelector('[data-testid=robot-voice]:not([hidden])', { timeout: 10_000 });
      assert.equal(await attr(page, '[data-testid=robot-audio]', 'data-ducked'), 'false');
    } finally {
      // Whatever failed above, the button is released: a held mouse would break every later test's clicks.
      await page.mouse.up();
    }
    await page.waitForSelector('[data-testid=ptt][aria-pressed="false"]', { timeout: 5_000 });
    await settle();
    const released = decoded();
    assert.ok(released >= held);
    await settle();
    assert.ok(decoded() - released <= 2, `decoded after release: ${released} -> ${decoded()}`);
  });

  test('battery telemetry from the demo service updates on the page', async () => {
    const percent = '[data-service="battery"] [data-key="percent"]';
    await page.waitForSelector(percent, { timeout: 15_000 });
    const seen = new Set<string>();
    await eventually(
      async () => {
        seen.add(await text(page, percent));
        return seen.size >= 3;
      },
      20_000,
      'three different battery percentages',
    );
    for (const v of seen) assert.ok(Number(v) > 0 && Number(v) <= 100, `percent ${v}`);
    assert.match(await text(page, '[data-service="battery"] [data-key="voltage"]'), /^2\d\.\d+$/);
    assert.match(await text(page, '[data-service="battery"] [data-testid=rate]'), /\d\.\d Hz/);
  });

  test('a command needs the control lock, then reaches the demo service and its reply shows', async () => {
    await page.fill('input[name=service]', 'battery');
    await page.fill('textarea[name=payload]', '{"action": "set_speed", "value": 0.8}');
    await page.click('[data-testid=command-form] button[type=submit]');
    await eventually(
      async () => (await logEntries(page)).some((e) => /not_operator/.test(e)),
      10_000,
      'not_operator',
    );

    await page.click('[data-testid=lock-take]');
    await eventually(
      async () => (await attr(page, '[data-testid=lock-holder]', 'data-holder')) === 'me',
      10_000,
      'lock held',
    );
    const from = stack.lines.length;
    await page.click('[data-testid=command-form] button[type=submit]');
    await stack.waitForLine(
      /\[battery\].*command\s+action=set_speed from=dev/,
      'the command at the demo service',
      10_000,
      from,
    );
    await eventually(
      async () => (await logEntries(page)).some((e) => /battery ok \[c\d+\] \{"speed":0\.8\}/.test(e)),
      10_000,
      'the reply on the page',
    );
    await eventually(
      async () => (await text(page, '[data-service="battery"] [data-key="speed"]')) === '0.8',
      10_000,
      'speed telemetry',
    );
    await shot('03-command-and-lock');
  });

  test('lock: release, take over from a second console; e-stop reaches the robot from any console', async () => {
    await page.click('[data-testid=lock-release]');
    await eventually(
      async () => (await attr(page, '[data-testid=lock-holder]', 'data-holder')) === 'free',
      10_000,
      'lock free',
    );
    await page.click('[data-testid=lock-take]');
    await eventually(
      async () => (await attr(page, '[data-testid=lock-holder]', 'data-holder')) === 'me',
      10_000,
      'lock held again',
    );
    assert.equal(await attr(page, '[data-testid=deadman]', 'data-status'), 'ok');

    const second = await context.newPage();
    try {
      await second.goto(stack.url);
      await second.click(ROBOT);
      await second.waitForSelector('[data-testid=gateway-state][data-state="ready"]', { timeout: 20_000 });
      assert.equal(await attr(second, '[data-testid=lock-holder]', 'data-holder'), 'other');
      assert.ok(
        await second.locator('[data-testid=lock-take]').isDisabled(),
        'take is disabled while another holds it',
      );
      await second.click('[data-testid=lock-takeover]');
      await eventually(
        async () => (await attr(second, '[data-testid=lock-holder]', 'data-holder')) === 'me',
        10_000,
        'takeover',
      );
      await eventually(
        async () => (await attr(page, '[data-testid=lock-holder]', 'data-holder')) === 'other',
        10_000,
        'first console sees it',
      );
      assert.ok(
        await page.locator('[data-testid=lock-release]').isDisabled(),
        'release is disabled for a non-holder',
      );

      // E-stop from the console that does NOT hold the lock: anyone watching may stop the robot.
      const from = stack.lines.length;
      await page.click('[data-testid=estop]');
      await stack.waitForLine(/\[battery\].*E-STOP received/, 'e-stop at the demo service', 10_000, from);
      for (const p of [page, second]) {
        await eventually(
          async () => (await attr(p, '[data-testid=estop-banner]', 'data-delivered')) === 'true',
          10_000,
          'e-stop confirmed',
        );
        assert.match(await text(p, '[data-testid=estop-banner]'), /E-STOP at .* by dev/);
      }
      await shot('04-estop');
      await second.click('[data-testid=lock-release]');
      await eventually(
        async () => (await attr(page, '[data-testid=lock-holder]', 'data-holder')) === 'free',
        10_000,
        'released',
      );
    } finally {
      await second.close();
    }
  });

  test('a console refused media (no free seat) retries by itself and plays once the seat is free', async () => {
    const second = await context.newPage();
    try {
      await second.goto(stack.url);
      await second.click(ROBOT);
      await eventually(
        async () =>
          /too many viewers.*reopening in \d+ s/.test(await text(second, '[data-testid=media-detail]')),
        20_000,
        'the second console refused, and says it retries',
      );
      // The first console leaves (its tab navigates away): the robot frees the seat when the path dies.
      await page.goto('about:blank');
      await second.waitForSelector('#robot-view[data-state="live"]', { timeout: 60_000 });
      await eventually(
        async () => (await sampleVideo(second, FRONT)) ?? undefined,
        30_000,
        'video in the second console, without a reload',
      );
      await shot('05-seat-freed', second);
    } finally {
      await second.close();
    }
    // Back to the first console for the tests that follow: it gets the seat the same way.
    await page.goto(stack.url);
    await page.click(ROBOT);
    await page.waitForSelector('#robot-view[data-state="live"]', { timeout: 60_000 });
    await eventually(async () => (await sampleVideo(page, FRONT)) ?? undefined, 30_000, 'video back');
  });

  test('the gateway session opens once the picture shows, or a second later without it', async () => {
    // Both opening at once compete for the page's WebRTC thread and the robot: the picture goes first.
    // A new document (the console's URL differs in its hash only); the robot's one seat frees first, or the new
    // media session would be refused and the gateway opened at once (as it should be then).
    const from = stack.lines.length;
    await page.goto('about:blank');
    await stack.waitForLine(
      /\[streamer\].*session closed/,
      "the previous console's media session to end",
      10_000,
      from,
    );
    await page.goto(stack.url);
    await page.click(ROBOT);
    await page.waitForSelector('#robot-view[data-state="live"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=gateway-state][data-state="ready"]', { timeout: 20_000 });
    const offers = await page.evaluate(() => (window as unknown as { __offers: OfferSeen[] }).__offers);
    const gateway = offers.filter((o) => !o.video);
    assert.deepEqual(
      gateway.map((o) => [o.mediaUp, o.pictureShown]),
      [[true, true]],
      `the gateway's offer made once the media connection was up and its first frame shown: ${JSON.stringify(offers)}`,
    );

    // A media session that never gets going (its offer is never made) holds the gateway back one second only.
    const stuck = await context.newPage();
    try {
      await stuck.addInitScript(() => {
        const createOffer = RTCPeerConnection.prototype.createOffer;
        RTCPeerConnection.prototype.createOffer = function (this: RTCPeerConnection, ...args: never[]) {
          if (this.getTransceivers().some((t) => t.receiver.track.kind === 'video'))
            return new Promise(() => {});
          return (createOffer as (...a: never[]) => Promise<RTCSessionDescriptionInit>).apply(this, args);
        } as typeof createOffer;
      });
      await stuck.goto(stack.url);
      await stuck.click(ROBOT);
      await stuck.waitForSelector('[data-testid=gateway-state][data-state="ready"]', { timeout: 20_000 });
      assert.equal(await attr(stuck, '[data-testid=media-state]', 'data-state'), 'opening');
    } finally {
      await stuck.close();
    }
  });

  test('the robot going offline shows it offline, and the view recovers when it is back', async () => {
    stack.toggleRobot();
    await page.waitForSelector(`${ROBOT}[data-online="false"]`, { timeout: 20_000 });
    await page.waitForSelector('#robot-view[data-state="offline"]', { timeout: 10_000 });
    assert.match(await text(page, '[data-testid=robot-state]'), /Robot offline/);
    assert.equal(await text(page, '[data-testid=robot-status]'), 'Offline');
    await shot('06-robot-offline');
    // The e-stop stays one click away, and says plainly that it could not be delivered.
    await page.click('[data-testid=estop]');
    assert.equal(await attr(page, '[data-testid=estop-banner]', 'data-delivered'), 'false');

    stack.toggleRobot();
    await page.waitForSelector(`${ROBOT}[data-online="true"]`, { timeout: 60_000 });
    await page.waitForSelector('#robot-view[data-state="live"]', { timeout: 60_000 });
    await eventually(
      async () => (await sampleVideo(page, FRONT)) ?? undefined,
      20_000,
      'video again after the robot came back',
    );
    await page.waitForSelector('[data-testid=gateway-state][data-state="ready"]', { timeout: 20_000 });
  });

  test('token states: an expired token and a forged token each get a clear sign-in message', async () => {
    const keys = loadOrCreateDevKeys(keysDir);
    const origin = `http://localhost:${stack.ports.web}/`;
    const expired = await mintToken(keys.privateKey, {
      role: 'app',
      sub: 'late',
      robots: '*',
      ttlSec: 60,
      alg: keys.alg,
      nowSec: Math.floor(Date.now() / 1000) - 3600,
    });
    const p = await context.newPage();
    try {
      await p.goto(`${origin}#token=${expired}`);
      await p.waitForSelector('[data-testid=sign-in]');
      assert.match(await text(p, '[data-testid=sign-in-reason]'), /expired/);
      await shot('07-token-expired', p);

      // Well formed and unexpired, but signed by another key: only signaling can tell, and it refuses it.
      const other = generateSigningKeys('EdDSA');
      const forged = await mintToken(other.privateKey, {
        role: 'app',
        sub: 'mallory',
        robots: '*',
        ttlSec: 600,
        alg: 'EdDSA',
      });
      await p.goto('about:blank');
      await p.goto(`${origin}#token=${forged}`);
      await p.waitForSelector('[data-testid=sign-in-reason]', { timeout: 15_000 });
      assert.match(await text(p, '[data-testid=sign-in-reason]'), /refused this token/);
    } finally {
      await p.close();
    }
  });

  test('the console worked under its Content-Security-Policy: Chromium refused nothing it did', () => {
    assert.deepEqual(cspViolations, []);
  });

  test('Ctrl-C stops every process of the stack cleanly', async () => {
    const code = await stack.stop();
    assert.equal(code, 0, stack.lines.slice(-20).join('\n'));
    assert.ok(stack.lines.some((l) => /\[stack\] stopped cleanly/.test(l)));
    assert.ok(!stack.lines.some((l) => /exited unexpectedly/.test(l)), 'no child died on its own');
    for (const port of Object.values(stack.ports))
      assert.equal(await listening(port), false, `port ${port} is closed`);
  });
});
