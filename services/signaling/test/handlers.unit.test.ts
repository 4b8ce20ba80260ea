/** The message and routed handlers in-process: local router, session service, fake connections; no socket. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloseCode } from '@robostream/protocol';
import { Harness, nowSec, settle } from './support/handler-harness.js';

describe('authenticate', () => {
  test('a valid token gets a welcome with this connection, its identity, ICE servers and the limits', async () => {
    const h = new Harness({ maxSessionsPerApp: 3 });
    const exp = nowSec() + 600;
    h.verifier.tokens.set('t', { role: 'app', sub: 'alice', grants: { '*': ['view'] }, exp });
    const c = h.connection();
    await h.handlers.authenticate(c, { type: 'authenticate', token: 't', ref: 'a1' });
    const w = c.one('welcome');
    assert.equal(w.ref, 'a1');
    assert.equal(w.peerId, c.peerId);
    assert.equal(w.instanceId, h.router.instanceId);
    assert.equal(w.role, 'app');
    assert.equal(w.subject, 'alice');
    assert.equal(w.tokenExpiresAt, exp * 1000);
    assert.deepEqual(w.iceServers, [{ urls: ['stun:stun.example.org:3478'] }]);
    assert.equal(w.iceServersExpireAt, null);
    assert.equal(w.limits.maxSessions, 3);
    assert.equal(c.state, 'ready');
  });

  test('a refused token: its typed code, the request ref, and close code 4401', async () => {
    const h = new Harness();
    for (const [token, code] of [
      ['expired', 'token_expired'],
      ['forged', 'token_invalid'],
    ] as const) {
      const c = h.connection();
      await h.handlers.authenticate(c, { type: 'authenticate', token, ref: 'x' });
      const e = c.one('error');
      assert.equal(e.code, code);
      assert.equal(e.ref, 'x');
      assert.deepEqual(c.closedWith, { code: CloseCode.Unauthorized, reason: code });
      assert.equal(c.claims, undefined);
    }
  });

  test('a connection that closed while its token was verified is left alone', async () => {
    const h = new Harness();
    h.verifier.tokens.set('t', { role: 'robot', sub: 'rover', exp: nowSec() + 600 });
    const c = h.connection();
    const pending = h.handlers.authenticate(c, { type: 'authenticate', token: 't' });
    c.state = 'closed';
    await pending;
    assert.deepEqual(c.sent, []);
    assert.equal(c.claims, undefined);
  });
});

describe('robot endpoints and presence', () => {
  test('register answers registered, counts the endpoint, and refuses apps and draining instances', async () => {
    const h = new Harness();
    const robot = await h.robot('rover');
    await h.send(robot, { type: 'register', endpoint: 'media', ref: 'r1', meta: { name: 'Rover' } });
    assert.deepEqual(robot.one('registered'), {
      type: 'registered',
      ref: 'r1',
      robotId: 'rover',
      endpoint: 'media',
    });
    assert.equal(await h.router.lookupEndpoint('rover', 'media'), robot.peerId);
    assert.equal((await h.metrics.presenceEndpoints.get()).values[0]?.value, 1);

    const app = await h.app('alice', '*');
    await h.send(app, { type: 'register', endpoint: 'media', ref: 'r2' });
    assert.equal(app.one('error').code, 'wrong_role');

    h.draining = true;
    await h.send(robot, { type: 'register', endpoint: 'gateway', ref: 'r3' });
    assert.equal(robot.one('error').code, 'shutting_down');
  });

  test('a newer connection of the same robot endpoint takes it over; the older one is closed with 4409', async () => {
    const h = new Harness();
    const old = await h.robot('rover', 'media');
    const newer = await h.robot('rover', 'media');
    await settle();
    assert.equal(await h.router.lookupEndpoint('rover', 'media'), newer.peerId);
    assert.equal(old.one('error').code, 'replaced');
    assert.deepEqual(old.closedWith, { code: CloseCode.Replaced, reason: 'replaced' });
    assert.equal(old.endpoints.size, 0, 'its close must not unregister what the newer connection holds');
  });

  test('unregister removes the endpoint only for the connection that holds it', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    await h.send(robot, { type: 'unregister', endpoint: 'media', ref: 'u' });
    assert.equal(robot.one('unregistered').ref, 'u');
    assert.equal(await h.router.lookupEndpoint('rover', 'media'), undefined);
  });

  test('an app lists and subscribes to the robots its token grants, and nothing else', async () => {
    const h = new Harness();
    await h.robot('rover', 'media');
    await h.robot('secret', 'media');
    const app = await h.app('alice', ['rover']);
    await h.send(app, { type: 'list_robots', ref: 'l' });
    assert.deepEqual(
      app.one('robots').robots.map((r) => r.robotId),
      ['rover'],
    );
    await h.send(app, { type: 'subscribe_presence' });
    assert.deepEqual(
      app.one('subscribed').robots.map((r) => r.robotId),
      ['rover'],
    );
    assert.equal(app.presenceSubscribed, true);
    await h.send(app, { type: 'unsubscribe_presence', ref: 'u' });
    assert.equal(app.one('unsubscribed').ref, 'u');
    assert.equal(app.presenceSubscribed, false);

    const robot = await h.robot('other');
    await h.send(robot, { type: 'list_robots' });
    assert.equal(robot.one('error').code, 'wrong_role');
  });
});

describe('sessions', () => {
  test('open, accept, relay both ways, close: each side hears what the protocol says', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = await h.app('alice', ['rover']);

    await h.send(app, {
      type: 'session_open',
      robotId: 'rover',
      endpoint: 'media',
      ref: 'o',
      meta: { camera: 'front' },
    });
    const created = app.one('session_created');
    assert.equal(created.ref, 'o');
    const { sessionId } = created;
    assert.deepEqual(robot.one('session_request'), {
      type: 'session_request',
      sessionId,
      endpoint: 'media',
      app: { subject: 'alice', grants: ['view'] },
      meta: { camera: 'front' },
    });

    // Nothing is relayed before the robot accepts.
    await h.send(app, { type: 'offer', sessionId, sdp: 'v=0 early', ref: 'early' });
    assert.equal(app.one('error').code, 'unknown_session');
    assert.equal(robot.take('offer').length, 0);

    await h.send(robot, { type: 'session_accept', sessionId, ref: 'acc' });
    assert.equal(robot.one('session_accepted').ref, 'acc');
    assert.deepEqual(app.one('session_accepted'), { type: 'session_accepted', sessionId });

    await h.send(app, { type: 'offer', sessionId, sdp: 'v=0 offer', ref: 'mine' });
    assert.deepEqual(
      robot.one('offer'),
      { type: 'offer', sessionId, sdp: 'v=0 offer' },
      'the ref stays home',
    );
    await h.send(robot, { type: 'answer', sessionId, sdp: 'v=0 answer' });
    assert.equal(app.one('answer').sdp, 'v=0 answer');
    assert.equal(h.sessions.size, 2, 'one entry per side');

    await h.send(app, { type: 'session_close', sessionId, reason: 'done', ref: 'c' });
    assert.deepEqual(app.one('session_closed'), {
      type: 'session_closed',
      ref: 'c',
      sessionId,
      reason: 'done',
      by: 'self',
    });
    assert.deepEqual(robot.one('session_closed'), {
      type: 'session_closed',
      sessionId,
      reason: 'done',
      by: 'peer',
    });
    assert.equal(h.sessions.size, 0);
  });

  test('an offer sent with session_open reaches the robot right after its acceptance, before anything else', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = await h.app('alice', ['rover']);
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media', offer: 'v=0 opening' });
    const { sessionId } = app.one('session_created');
    // The request itself does not carry it: a robot only gets offers for sessions it accepted.
    assert.equal(robot.one('session_request').sessionId, sessionId);
    assert.equal(robot.take('offer').length, 0);

    await h.send(robot, { type: 'session_accept', sessionId, ref: 'acc' });
    const [accepted, offer] = robot.sent.splice(0, 2);
    assert.deepEqual(accepted, { type: 'session_accepted', ref: 'acc', sessionId });
    assert.deepEqual(offer, { type: 'offer', sessionId, sdp: 'v=0 opening' });
    await settle();
    assert.deepEqual(app.one('session_accepted'), { type: 'session_accepted', sessionId });
    // Handed over once: the app's side does not relay it again.
    assert.equal(robot.take('offer').length, 0);
    assert.equal(h.sessions.get(app.peerId, sessionId)?.heldOffer, undefined);
    assert.equal(h.sessions.get(robot.peerId, sessionId)?.heldOffer, undefined);

    await h.send(robot, { type: 'answer', sessionId, sdp: 'v=0 answer' });
    assert.equal(app.one('answer').sdp, 'v=0 answer');
  });

  test("an opening offer the robot's instance did not hand over (an older version) is relayed by the app's", async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = await h.app('alice', ['rover']);
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media', offer: 'v=0 opening' });
    const { sessionId } = app.one('session_created');
    robot.take('session_request');
    // What an instance that knows nothing of opening offers sends back: an acceptance without offerHanded.
    h.routed.handle(app, { kind: 'session_accepted', sessionId, from: robot.peerId });
    await settle();
    assert.deepEqual(app.one('session_accepted'), { type: 'session_accepted', sessionId });
    assert.deepEqual(robot.one('offer'), { type: 'offer', sessionId, sdp: 'v=0 opening' });
  });

  test('a robot that rejects: the app hears why and the session is gone on both sides', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = await h.app('alice', '*');
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media' });
    const { sessionId } = robot.one('session_request');
    await h.send(robot, { type: 'session_reject', sessionId, reason: 'busy' });
    assert.deepEqual(app.one('session_rejected'), { type: 'session_rejected', sessionId, reason: 'busy' });
    assert.equal(h.sessions.size, 0);
    await h.send(robot, { type: 'session_accept', sessionId, ref: 'late' });
    assert.equal(robot.one('error').code, 'unknown_session');
  });

  test('open is refused without a grant, with the robot offline, and past the per-app limit', async () => {
    const h = new Harness({ maxSessionsPerApp: 1 });
    await h.robot('rover', 'media');
    const app = await h.app('alice', ['rover']);

    await h.send(app, { type: 'session_open', robotId: 'elsewhere', endpoint: 'media', ref: 'a' });
    assert.equal(app.one('error').code, 'forbidden');
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'gateway', ref: 'b' });
    assert.equal(app.one('error').code, 'robot_offline');

    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media', ref: 'c' });
    app.one('session_created');
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media', ref: 'd' });
    const e = app.one('error');
    assert.equal(e.code, 'session_limit');
    assert.equal(e.ref, 'd');

    const robot = await h.robot('other', 'media');
    await h.send(robot, { type: 'session_open', robotId: 'rover', endpoint: 'media' });
    assert.equal(robot.one('error').code, 'wrong_role');
  });

  test('a robot endpoint whose instance is gone: the app gets its session created, then closed by the service', async () => {
    const h = new Harness();
    // Registered to a peer of another instance, which the local router cannot reach.
    await h.router.registerEndpoint('ghost', 'media', { peerId: 'deadbeef.1', since: Date.now() });
    const app = await h.app('alice', '*');
    await h.send(app, { type: 'session_open', robotId: 'ghost', endpoint: 'media' });
    const { sessionId } = app.one('session_created');
    assert.deepEqual(app.one('session_closed'), {
      type: 'session_closed',
      sessionId,
      reason: 'robot is not reachable',
      by: 'service',
    });
    assert.equal(h.sessions.size, 0);
    const routed = (await h.metrics.routed.get()).values.find((v) => v.labels.outcome === 'no_instance');
    assert.equal(routed?.value, 1);
  });

  test('the other side disconnected (undeliverable): this side ends, told by the service', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = await h.app('alice', '*');
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media' });
    const { sessionId } = robot.one('session_request');
    await h.sessions.closePeer(robot.peerId, 'peer disconnected');
    await settle();
    assert.deepEqual(app.one('session_closed'), {
      type: 'session_closed',
      sessionId,
      reason: 'peer disconnected',
      by: 'service',
    });

    // A message claiming the session from someone who is not its other side is ignored.
    await h.send(app, { type: 'session_open', robotId: 'rover', endpoint: 'media' });
    const second = robot.one('session_request').sessionId;
    h.routed.handle(app, { kind: 'undeliverable', sessionId: second, from: 'someone.else' });
    assert.equal(app.take('session_closed').length, 0);
    h.routed.handle(app, { kind: 'undeliverable', sessionId: second, from: robot.peerId });
    assert.equal(app.one('session_closed').reason, 'peer disconnected');
  });

  test('a session request for an endpoint this connection does not hold is bounced as undeliverable', async () => {
    const h = new Harness();
    const robot = await h.robot('rover', 'media');
    const app = `${h.router.instanceId}.999`;
    h.routed.handle(robot, {
      kind: 'session_request',
      sessionId: 's1',
      from: app,
      app: { subject: 'alice', grants: ['view'] },
      robotId: 'rover',
      endpoint: 'gateway',
    });
    await settle();
    assert.equal(robot.take('session_request').length, 0);
    assert.equal(h.sessions.size, 0);
    assert.deepEqual(h.unrouted, [
      { to: app, message: { kind: 'undeliverable', sessionId: 's1', from: robot.peerId } },
    ]);
  });
});

describe('misc', () => {
  test('ping answers pong with the ref and the client time; ICE servers refresh on request', async () => {
    const h = new Harness();
    const app = await h.app('alice', '*');
    await h.send(app, { type: 'ping', ref: 'p', t: 42 });
    const pong = app.one('pong');
    assert.equal(pong.ref, 'p');
    assert.equal(pong.t, 42);
    assert.ok(Math.abs(pong.serverTime - Date.now()) < 5000);
    await h.send(app, { type: 'refresh_ice_servers', ref: 'i' });
    assert.equal(app.one('ice_servers').ref, 'i');
  });
});
