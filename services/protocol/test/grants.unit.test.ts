/** Grants in app tokens: what each grant implies, wildcard entries, the old `robots` form, and what is refused. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appMay,
  grantListOn,
  mintToken,
  parseGrantList,
  verifyAppAccess,
  verifyToken,
  GRANTS,
  type AppClaims,
} from '../src/auth/index.js';
import { generateSigningKeys } from '../src/auth/keys.js';

const keys = generateSigningKeys('EdDSA');
const mint = (o: { grants?: AppClaims['grants']; robots?: string[] | '*' }) =>
  mintToken(keys.privateKey, { role: 'app', sub: 'u1', ttlSec: 60, alg: 'EdDSA', ...o });

describe('grants', () => {
  test('each grant implies what is needed to use it, and nothing more', () => {
    const on = (g: (typeof GRANTS)[number]) => grantListOn({ r1: [g] }, 'r1');
    assert.deepEqual(on('view'), ['view']);
    assert.deepEqual(on('talk'), ['view', 'talk']);
    assert.deepEqual(on('drive'), ['view', 'drive']);
    assert.deepEqual(on('supervise'), ['view', 'drive', 'supervise']);
  });

  test('"*" applies to every robot and adds to a robot\'s own entry; other robots get nothing', () => {
    const claims = { grants: { '*': ['view'], r1: ['drive'] } } as const;
    assert.deepEqual(grantListOn(claims.grants, 'r1'), ['view', 'drive']);
    assert.deepEqual(grantListOn(claims.grants, 'r2'), ['view']);
    assert.equal(appMay(claims, 'r2', 'drive'), false);
    assert.equal(appMay({ grants: { r1: ['talk'] } }, 'r2', 'view'), false);
    // A robot called like an Object.prototype member gains nothing from it.
    assert.deepEqual(grantListOn({ r1: ['view'] }, 'constructor'), []);
  });

  test('the old robots claim verifies as every grant on those robots, marked legacy', async () => {
    const list = await verifyToken(await mint({ robots: ['r1'] }), keys.publicKey);
    assert.equal(list.role, 'app');
    if (list.role !== 'app') return;
    assert.equal(list.legacy, true);
    assert.deepEqual(grantListOn(list.grants, 'r1'), [...GRANTS]);
    assert.deepEqual(grantListOn(list.grants, 'r2'), []);
    const all = await verifyToken(await mint({ robots: '*' }), keys.publicKey);
    assert.ok(all.role === 'app' && appMay(all, 'anything', 'supervise'));
  });

  test('new tokens carry grants and no robots claim, so a verifier that knows only robots refuses them', async () => {
    const token = await mint({ grants: { r1: ['view', 'drive'] } });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(payload['grants'], { r1: ['view', 'drive'] });
    assert.equal(payload['robots'], undefined);
    const claims = await verifyToken(token, keys.publicKey);
    assert.ok(claims.role === 'app' && claims.legacy === undefined);
  });

  test('verifyAppAccess answers for one grant, with the refusal the app is told', async () => {
    const token = await mint({ grants: { r1: ['view'] } });
    assert.equal((await verifyAppAccess(token, keys.publicKey, 'r1')).ok, true);
    assert.deepEqual(await verifyAppAccess(token, keys.publicKey, 'r1', 'drive'), {
      ok: false,
      code: 'forbidden',
      message: 'this token does not grant drive on robot r1',
    });
    assert.deepEqual(await verifyAppAccess(token, keys.publicKey, 'r2'), {
      ok: false,
      code: 'forbidden',
      message: 'this token does not grant robot r2',
    });
  });

  test('minting refuses unknown grants, both forms at once, and neither', async () => {
    await assert.rejects(mint({ grants: { r1: ['fly' as 'view'] } }), /unknown grant "fly"/);
    await assert.rejects(mint({ grants: { r1: ['view'] }, robots: ['r1'] }), /not both/);
    await assert.rejects(mint({}), /needs grants/);
    await assert.rejects(mint({ grants: { 'bad id!': ['view'] } }), /invalid robot id/);
  });

  test('grant lists from text', () => {
    assert.deepEqual(parseGrantList('view, drive,view'), ['view', 'drive']);
    assert.throws(() => parseGrantList('view,steer'), /unknown grant "steer"/);
    assert.throws(() => parseGrantList(' , '), /no grants/);
  });
});
