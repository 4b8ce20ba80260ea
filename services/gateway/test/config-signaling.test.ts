/** The signaling part of the configuration: robot id from the robot token, every wrong value reported. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestKeys } from '../../../test/support/tokens.js';
import { ConfigError, loadConfig } from '../src/index.js';

const keys = new TestKeys();
const base = { GATEWAY_APP_PUBLIC_KEY: keys.publicPem, GATEWAY_LAN_HOST: '127.0.0.1' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('the robot id is the robot token subject; the token file is read again on each call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cfg-'));
  const file = join(dir, 'robot.jwt');
  writeFileSync(file, `${await keys.robot('rover-3')}\n`);
  const c = loadConfig({ ...base, SIGNALING_URL: 'wss://signal.example/v1/ws', ROBOT_TOKEN_FILE: file });
  assert.equal(c.robotId, 'rover-3');
  assert.equal(c.signaling?.iceTransportPolicy, 'all');
  assert.equal(c.signaling?.highWaterBytes, 32_768);
  const rotated = await keys.robot('rover-3', 1200);
  writeFileSync(file, rotated);
  assert.equal(c.signaling?.token(), rotated);
  const same = loadConfig({
    ...base,
    SIGNALING_URL: 'ws://127.0.0.1:8080/v1/ws',
    ROBOT_TOKEN: await keys.robot('rover-3'),
    GATEWAY_ROBOT_ID: 'rover-3',
    GATEWAY_ICE_TRANSPORT_POLICY: 'relay',
  });
  assert.equal(same.signaling?.iceTransportPolicy, 'relay');
  assert.equal(loadConfig({ ...base, GATEWAY_ROBOT_ID: 'r1' }).signaling, null);
});

test('wrong signaling settings are each reported', async () => {
  const robot = await keys.robot('rover-3');
  assert.deepEqual(
    problems({ SIGNALING_URL: 'ws://s/v1/ws', ROBOT_TOKEN: robot, GATEWAY_ROBOT_ID: 'rover-4' }),
    ["GATEWAY_ROBOT_ID=rover-4 does not match the robot token's subject (rover-3)"],
  );
  assert.match(
    problems({ SIGNALING_URL: 'ws://s/v1/ws' }).join('\n'),
    /ROBOT_TOKEN or ROBOT_TOKEN_FILE is required/,
  );
  assert.match(
    problems({ SIGNALING_URL: 'ws://s/v1/ws', ROBOT_TOKEN: await keys.app('a', '*') }).join('\n'),
    /not a robot token/,
  );
  assert.match(problems({ SIGNALING_URL: 'ws://s/v1/ws', ROBOT_TOKEN: 'nope' }).join('\n'), /not a JWT/);
  assert.match(
    problems({ SIGNALING_URL: 'http://s', ROBOT_TOKEN: robot }).join('\n'),
    /not a ws:\/\/ or wss:\/\//,
  );
  assert.match(problems({ GATEWAY_ROBOT_ID: 'r1', ROBOT_TOKEN: robot }).join('\n'), /SIGNALING_URL is not/);
  assert.match(
    problems({
      SIGNALING_URL: 'ws://s/v1/ws',
      ROBOT_TOKEN: robot,
      GATEWAY_ICE_TRANSPORT_POLICY: 'none',
    }).join('\n'),
    /GATEWAY_ICE_TRANSPORT_POLICY/,
  );
});
