// Hold-to-drive in the console, end to end: the local stack (signaling, simulated robot with the demo vehicle)
// and Chromium. A `drive` console drives with keys and with a (fake, injected) gamepad: the pose in the vehicle's
// odometry changes while held and stops on release; a `view` console has no drive controls, and its forged lock
// request is refused by the gateway; the vehicle's pose goes to the rear camera's overlay file. Screenshots go to
// test-artifacts/e2e/teleop-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mintToken, type RobotGrants } from '@robostream/protocol/auth';
import { loadOrCreateDevKeys } from '@robostream/protocol/auth/keys';
import { eventually } from '../support/signaling.js';
import { startLocalStack, type LocalStack } from './support/local-stack.js';
import { launchChromium, type TestChromium } from '../support/chromium.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e');
const ROBOT = '[data-robot="sim-robot"]';

interface Pose {
  x: number;
  y: number;
  theta: number;
}

async function pose(page: Page): Promise<Pose> {
  const el = page.locator('[data-testid=pose]');
  const n = async (k: string) => Number(await el.getAttribute(`data-${k}`, { timeout: 5_000 }));
  return { x: await n('x'), y: await n('y'), theta: await n('theta') };
}

const moved = (a: Pose, b: Pose) => Math.hypot(b.x - a.x, b.y - a.y) + Math.abs(b.theta - a.theta);

describe('teleop in the console (local stack, Chromium)', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let keysDir: string;
  let browser: TestChromium | undefined;
  let driver: Page;

  const token = async (sub: string, grants: RobotGrants) => {
    const keys = loadOrCreateDevKeys(keysDir);
    return mintToken(keys.privateKey, { role: 'app', sub, grants, ttlSec: 3600, alg: keys.alg });
  };
  const open = async (sub: string, grants: RobotGrants): Promise<Page> => {
    const page = await browser!.context.newPage();
    await page.goto(`http://localhost:${stack.ports.web}/#token=${await token(sub, grants)}`);
    await page.waitForSelector(`${ROBOT}[data-online="true"]`, { timeout: 20_000 });
    await page.click(ROBOT);
    await page.waitForSelector('[data-testid=gateway-state][data-state="ready"]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=pose][data-x]', { timeout: 10_000 });
    return page;
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    keysDir = mkdtempSync(join(tmpdir(), 'robostream-teleop-keys-'));
    stack = await startLocalStack(
      { DEV_KEYS_DIR: keysDir, LOG_LEVEL: 'info' },
      process.env['E2E_ECHO'] === '1',
    );
    browser = await launchChromium({
      profilePrefix: 'robostream-teleop-chromium-',
      viewport: { width: 1440, height: 900 },
    });
    // A standard-mapping gamepad the test moves: window.fakePad.{pressed, axes}.
    await browser.context.addInitScript(() => {
      const pad = { pressed: false, axes: [0, 0, 0, 0] };
      (window as unknown as { fakePad: typeof pad }).fakePad = pad;
      navigator.getGamepads = () => [
        {
          id: 'fake pad',
          index: 0,
          connected: true,
          mapping: 'standard',
          timestamp: performance.now(),
          axes: pad.axes,
          buttons: Array.from({ length: 17 }, (_, i) => ({
            pressed: i === 4 && pad.pressed,
            touched: false,
            value: i === 4 && pad.pressed ? 1 : 0,
          })),
          vibrationActuator: null,
          hapticActuators: [],
        } as unknown as Gamepad,
      ];
    });
    driver = await open('driver', { '*': ['view', 'drive'] });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  });

  test('video first: one camera large, a thumbnail click swaps it', async () => {
    const main = (cam: string) => driver.getAttribute(`figure[data-camera="${cam}"]`, 'data-main');
    assert.deepEqual([await main('front'), await main('rear')], ['true', 'false']);
    await driver.click('figure[data-camera="rear"]');
    assert.deepEqual([await main('front'), await main('rear')], ['false', 'true']);
    const width = async (cam: string) =>
      (await driver.locator(`figure[data-camera="${cam}"]`).boundingBox())?.width ?? 0;
    assert.ok((await width('rear')) > 3 * (await width('front')), 'the large one is large');
    // The driver has no talk grant: no microphone toggle.
    assert.equal(await driver.locator('[data-testid=mic]').isVisible(), false);
  });

  test('keys drive while held; the pose changes in telemetry and stops on release', async () => {
    assert.equal(await driver.locator('[data-testid=drive-controls]').isVisible(), true);
    await driver.click('[data-testid=lock-take]');
    await driver.waitForSelector('[data-testid=lock-holder][data-holder="me"]', { timeout: 10_000 });
    const start = await pose(driver);
    await driver.keyboard.down('KeyW');
    await driver.waitForSelector('[data-testid=drive-state][data-active="true"]', { timeout: 5_000 });
    const driving = await eventually(
      async () => {
        const p = await pose(driver);
        return p.x - start.x > 0.2 && p;
      },
      10_000,
      'the vehicle to move forward',
    );
    assert.ok(Math.abs(driving.y - start.y) < 0.05, 'straight ahead');
    await driver.keyboard.down('KeyA');
    await eventually(async () => (await pose(driver)).theta - driving.theta > 0.1, 10_000, 'turning left');
    // The vehicle writes its pose for the rear camera to draw (the drawing itself: overlay-file.test.ts).
    const drawn = readFileSync(join(tmpdir(), `robostream-dev-pose-${stack.proc.pid}.txt`), 'utf8');
    const x = Number(/^x (-?\d+\.\d+) m/.exec(drawn)?.[1]);
    assert.ok(x > 0.2, `the camera overlay shows the moved pose: ${JSON.stringify(drawn)}`);
    const latency = Number(await driver.locator('[data-testid=drive-latency]').getAttribute('data-ms'));
    assert.ok(latency >= 0 && latency < 1_000, `command -> telemetry ${latency} ms`);
    console.log(`command -> telemetry (console, median of the last 40): ${latency} ms`);
    await driver.screenshot({ path: join(ARTIFACTS, 'teleop-01-driving.png') });
    await driver.keyboard.up('KeyA');
    await driver.keyboard.up('KeyW');
    await driver.waitForSelector('[data-testid=drive-state][data-active="false"]', { timeout: 2_000 });
    // Stopped within the bound: the pose a little after release stays put.
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await pose(driver);
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(moved(stopped, await pose(driver)) < 0.002, 'no motion after release');
  });

  test('a gamepad drives while its dead-man button is held, and stops when released', async () => {
    const start = await pose(driver);
    await driver.evaluate(() => {
      const pad = (window as unknown as { fakePad: { pressed: boolean; axes: number[] } }).fakePad;
      pad.axes[1] = -1; // left stick fully forward, no dead-man yet: nothing moves
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(moved(start, await pose(driver)) < 0.002, 'the stick alone does not drive');
    await driver.evaluate(() => {
      (window as unknown as { fakePad: { pressed: boolean } }).fakePad.pressed = true;
    });
    await eventually(async () => moved(start, await pose(driver)) > 0.2, 10_000, 'the pad to drive');
    await driver.evaluate(() => {
      (window as unknown as { fakePad: { pressed: boolean } }).fakePad.pressed = false;
    });
    await driver.waitForSelector('[data-testid=drive-state][data-active="false"]', { timeout: 2_000 });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await pose(driver);
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(moved(stopped, await pose(driver)) < 0.002, 'no motion after the dead-man button is released');
  });

  test('a view console has no drive controls, sees who drives, and its forged lock request is refused', async () => {
    const watcher = await open('watcher', { '*': ['view'] });
    try {
      assert.equal(await watcher.locator('[data-testid=drive-controls]').isVisible(), false);
      assert.equal(await watcher.locator('[data-testid=lock-take]').isVisible(), false);
      assert.equal(await watcher.locator('[data-testid=command-card]').isVisible(), false);
      // No talk either: no microphone or camera toggles, and a note that says why.
      assert.equal(await watcher.locator('[data-testid=mic]').isVisible(), false);
      assert.equal(await watcher.locator('[data-testid=ptt]').isVisible(), false, 'no push-to-talk either');
      assert.equal(await watcher.locator('[data-testid=talk-note]').isVisible(), true);
      assert.match((await watcher.locator('[data-testid=driver]').textContent()) ?? '', /driver/);
      assert.match(
        (await watcher.locator('[data-testid=drive-hint]').textContent()) ?? '',
        /does not grant drive/,
      );
      // Forge it once the lock is free: show the hidden button and press it. The gateway decides, not the page.
      await driver.click('[data-testid=lock-release]');
      await watcher.waitForSelector('[data-testid=lock-holder][data-holder="free"]', { timeout: 10_000 });
      await watcher.evaluate(() => {
        const b = document.querySelector<HTMLButtonElement>('[data-testid=lock-take]')!;
        b.hidden = false;
        b.disabled = false;
        b.click();
      });
      await eventually(
        async () =>
          (await watcher.locator('[data-testid=gateway-log] li').allTextContents()).some((t) =>
            /forbidden.*does not grant drive on robot sim-robot/.test(t),
          ),
        10_000,
        'the gateway to refuse the forged lock.take',
      );
      assert.equal(await watcher.getAttribute('[data-testid=lock-holder]', 'data-holder'), 'free');
      assert.equal(
        await watcher.getAttribute('[data-testid=gateway-state]', 'data-state'),
        'ready',
        'a refused action leaves the link up',
      );
      await watcher.screenshot({ path: join(ARTIFACTS, 'teleop-02-spectator.png') });
    } finally {
      await watcher.close();
    }
  });
});
