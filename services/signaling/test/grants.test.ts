/**
 * Grants through signaling: for every kind of app token, what presence shows, whether a session request (both
 * robot endpoints, and WHEP) reaches the robot, and which grants the robot is told. The robot speaks the real
 * protocol on a raw socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Grant, RobotGrants } from '@robostream/protocol/auth';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const ROBOT = 'rover-s';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

const withGrants = (g: RobotGrants) => (sub: string) => keys.appWith(sub, g);
const PROFILES: Array<{ name: string; token: (sub: string) => Promise<string>; expect: Grant[] | null }> = [
  { name: 'other-robot', token: withGrants({ 'rover-x': ['view', 'talk', 'drive'] }), expect: null },
  { name: 'view', token: withGrants({ [ROBOT]: ['view'] }), expect: ['view'] },
  { name: 'talk', token: withGrants({ [ROBOT]: ['talk'] }), expect: ['view', 'talk'] },
  { name: 'drive', token: withGrants({ [ROBOT]: ['drive'] }), expect: ['view', 'drive'] },
  {
    name: 'supervise',
    token: withGrants({ [ROBOT]: ['supervise'] }),
    expect: ['view', 'drive', 'supervise'],
  },
  {
    name: 'wildcard view + talk here',
    token: withGrants({ '*': ['view'], [ROBOT]: ['talk'] }),
    expect: ['view', 'talk'],
  },
  {
    name: 'legacy robots',
    token: (sub) => keys.app(sub, [ROBOT]),
    expect: ['view', 'talk', 'drive', 'supervise'],
  },
  { name: 'legacy *', token: (sub) => keys.app(sub, '*'), expect: ['view', 'talk', 'drive', 'supervise'] },
];

describe('grants through signaling', () => {
  let s: RunningSignaling;
  let robot: RawSocket;
  before(async () => {
    s = await startSignaling(keys);
    robot = await RawSocket.open(s.url);
    await robot.authenticate(await keys.robot(ROBOT));
    for (const endpoint of ['media', 'gateway']) {
      robot.send({ type: 'register', endpoint });
      await robot.next('registered');
    }
  });
  after(async () => {
    robot.close();
    await s.stop();
  });

  for (const p of PROFILES) {
    test(`${p.name}: presence, session_open on media and gateway, WHEP`, async () => {
      const sub = p.name.replace(/[^a-z]+/g, '-');
      const token = await p.token(sub);
      const app = await RawSocket.open(s.url);
      try {
        await app.authenticate(token);
        app.send({ type: 'list_robots', ref: 'l' });
        const listed = (await app.next('robots')).robots.map((r) => r.robotId);
        assert.deepEqual(listed, p.expect ? [ROBOT] : [], 'presence shows the robot only to its grantees');

        for (const endpoint of ['media', 'gateway']) {
          app.send({ type: 'session_open', ref: endpoint, robotId: ROBOT, endpoint });
          if (!p.expect) {
            const err = await app.next('error', (e) => e.ref === endpoint);
            assert.equal(err.code, 'forbidden');
            assert.match(err.message, new RegExp(`does not grant robot ${ROBOT}`));
            continue;
          }
          const created = await app.next('session_created', (m) => m.ref === endpoint);
          const req = await robot.next('session_request', (m) => m.sessionId === created.sessionId);
          assert.equal(req.app.subject, sub);
          assert.deepEqual(req.app.grants, p.expect, `the robot is told the grants (${endpoint})`);
          robot.send({ type: 'session_reject', sessionId: req.sessionId, reason: 'test done' });
          await app.next('session_rejected', (m) => m.sessionId === created.sessionId);
        }

        const res = fetch(`${s.httpUrl}/v1/robots/${ROBOT}/whep`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
          body: OFFER,
        });
        if (!p.expect) {
          const r = await res;
          assert.equal(r.status, 403);
          assert.equal(((await r.json()) as { code: string }).code, 'forbidden');
        } else {
          const req = await robot.next('session_request', (m) => m.meta?.whep === true);
          assert.deepEqual(req.app.grants, p.expect, 'WHEP requests carry the grants too');
          robot.send({ type: 'session_reject', sessionId: req.sessionId, reason: 'test done' });
          assert.equal((await res).status, 409);
        }
      } finally {
        app.close();
      }
    });
  }

  test('a token with both the old robots claim and grants, or an unknown grant, is refused at sign-in', async () => {
    const { SignJWT } = await import('jose');
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ role: 'app', ...claims })
        .setProtectedHeader({ alg: keys.keys.alg })
        .setSubject('mallory')
        .setIssuer('robostream')
        .setAudience('robostream')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(keys.keys.privateKey);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ robots: [ROBOT], grants: { [ROBOT]: ['view'] } }, /both robots and grants/],
      [{ grants: { [ROBOT]: ['view', 'fly'] } }, /unknown grant "fly"/],
      [{ grants: { [ROBOT]: [] } }, /non-empty list/],
      [{ grants: {} }, /grants no robot/],
      [{ grants: ['view'] }, /must be an object/],
    ];
    for (const [claims, message] of cases) {
      const app = await RawSocket.open(s.url);
      app.send({ type: 'authenticate', token: await sign(claims) });
      const err = await app.next('error');
      assert.equal(err.code, 'token_invalid', JSON.stringify(claims));
      assert.match(err.message, message);
      app.close();
    }
  });
});
