/** The token command's grant flags, down to the verified claims of the token it prints. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyToken } from '@robostream/protocol/auth';
import { loadOrCreateDevKeys } from '@robostream/protocol/auth/keys';
import { appGrants, tokenCommand } from '../src/cli/token.js';

describe('token command grants', () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-cli-'));
  const env = { DEV_KEYS_DIR: dir };

  test('--robots with --grants, and per-robot --grant, end up in the verified claims', async () => {
    const token = await tokenCommand(
      [
        'app',
        'alice',
        '--robots',
        'r1,r2',
        '--grants',
        'view,talk',
        '--grant',
        'r2=drive',
        '--grant',
        '*=view',
      ],
      env,
    );
    const claims = await verifyToken(token, loadOrCreateDevKeys(dir).publicKey);
    assert.equal(claims.role, 'app');
    assert.deepEqual(claims.role === 'app' && claims.grants, {
      r1: ['view', 'talk'],
      r2: ['view', 'talk', 'drive'],
      '*': ['view'],
    });
  });

  test('--robots alone grants view (least privilege)', () => {
    assert.deepEqual(appGrants('*', undefined, []), { '*': ['view'] });
  });

  test('bad flags are refused with a message that names the fix', () => {
    assert.throws(() => appGrants(undefined, undefined, []), /needs --robots/);
    assert.throws(() => appGrants(undefined, 'drive', ['r1=view']), /--grants applies to --robots/);
    assert.throws(() => appGrants('r1', 'steer', []), /unknown grant "steer"/);
    assert.throws(() => appGrants(undefined, undefined, ['r1']), /use <robot>=<grant,grant>/);
    assert.throws(() => appGrants(undefined, undefined, ['bad id=view']), /invalid robot id/);
  });
});
