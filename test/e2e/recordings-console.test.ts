// The console's Recordings panel (services/web/src/views/recordings-panel.ts) in real Chromium against a real
// streamer with the black box on: it lists the robot's files, starts and stops an on-demand recording, downloads
// it (read back with @mcap/core), and says so when the token does not grant the robot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '@robostream/streamer';
import {
  defaultRecordingConfig,
  loadServiceConfig,
  startStreamerService,
  type StreamerService,
} from '@robostream/streamer/service';
import { launchChromiumApp, type ChromiumApp } from '../support/chromium.js';
import { bundleForPage } from '../support/browser-bundle.js';
import { TestKeys } from '../support/tokens.js';
import { readIndexed } from '../support/mcap.js';

const ROBOT = 'console-rec';

function bundlePanel(): Promise<string> {
  return bundleForPage({
    stdin: {
      contents: `
        import { RecordingsPanel } from './views/recordings-panel.ts';
        const p = new URLSearchParams(location.hash.slice(1));
        const robot = p.get('robot') ?? '';
        localStorage.setItem('robostream.recordings-url.' + robot, p.get('url') ?? '');
        document.body.append(new RecordingsPanel(robot, p.get('token') ?? '').el);`,
      resolveDir: join(process.cwd(), 'services/web/src'),
      loader: 'ts',
    },
  });
}

describe('console: recordings panel', { timeout: 180_000 }, () => {
  const keys = new TestKeys();
  let dir: string;
  let streamer: StreamerService;
  let app: ChromiumApp;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rec-console-'));
    const service = loadServiceConfig({
      ROBOT_TOKEN: await keys.robot(ROBOT),
      STREAMER_APP_PUBLIC_KEY: keys.publicPem,
      STREAMER_HTTP_PORT: '0',
      STREAMER_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    const media = loadConfig(
      {},
      {
        videoSources: [
          { id: 'front', kind: 'test', pattern: 'ball', width: 320, height: 240, framerate: 30 },
        ],
        audioSource: { kind: 'none' },
        encoder: 'x264',
        lowLayerEnabled: false,
        keyframeIntervalFrames: 30,
        audioSink: 'none',
        videoSink: 'none',
      },
    );
    streamer = await startStreamerService(service, media, {
      log: pino({ level: 'warn' }),
      defaultMetrics: false,
      recording: { ...defaultRecordingConfig, dir, blackboxSeconds: 600, segmentSeconds: 2 },
    });
    app = await launchChromiumApp({
      html: '<!doctype html><html><body><script type="module" src="/panel.js"></script></body></html>',
      assets: { '/panel.js': { contentType: 'text/javascript', body: await bundlePanel() } },
    });
  });

  after(async () => {
    await app?.close();
    await streamer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('lists, records, downloads', async () => {
    await sleep(2500); // the black box has a file by now
    const token = await keys.app('alice', [ROBOT]);
    const page = await app.context.newPage();
    const hash = new URLSearchParams({ robot: ROBOT, url: streamer.httpUrl, token }).toString();
    await page.goto(`${app.origin}/#${hash}`);
    await page.waitForSelector('[data-testid="recordings-list"] li[data-name^="blackbox-"]', {
      timeout: 10_000,
    });
    assert.match(
      (await page.textContent('[data-testid="recordings-status"]')) ?? '',
      /black box: last 10 min/,
    );

    await page.click('[data-testid="record-toggle"]');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="record-toggle"]')?.textContent === 'Stop recording',
    );
    await sleep(3000);
    await page.click('[data-testid="record-toggle"]');
    const row = await page.waitForSelector('[data-testid="recordings-list"] li[data-name^="rec-"]', {
      timeout: 10_000,
    });
    const name = (await row.getAttribute('data-name')) ?? '';
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click(`li[data-name="${name}"] [data-testid="download"]`),
    ]);
    assert.equal(download.suggestedFilename(), name);
    const saved = join(dir, `downloaded-${name}`);
    await download.saveAs(saved);
    const r = await readIndexed(saved);
    const frames = r.messages.filter((m) => m.topic === '/camera/front/h264').length;
    assert.ok(frames >= 60 && frames <= 110, `${frames} frames in about 3 s`);
    assert.equal(r.metadata[0]?.get('by'), 'alice');
    await page.close();
  });

  test('a token for another robot gets a clear refusal', async () => {
    const page = await app.context.newPage();
    const token = await keys.app('bob', ['another-robot']);
    const hash = new URLSearchParams({ robot: ROBOT, url: streamer.httpUrl, token }).toString();
    await page.goto(`${app.origin}/#${hash}`);
    await page.waitForFunction(() =>
      /does not grant/.test(document.querySelector('[data-testid="recordings-status"]')?.textContent ?? ''),
    );
    assert.equal(await page.locator('[data-testid="recordings-list"] li').count(), 0);
    await page.close();
  });
});
