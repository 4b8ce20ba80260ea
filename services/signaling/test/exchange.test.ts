/**
 * The core scenarios, run on the in-process bus (one instance) and on Redis (robot on instance A, app on B).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ServerMessageOf } from '@robostream/protocol';
import { TestKeys } from '../../../test/support/tokens.js';
import {
  RawSocket,
  client,
  eventually,
  startSignaling,
  type RunningSignaling,
} from '../../../test/support/signaling.js';
import { startRedis, type RedisHandle } from '../../../test/support/docker.js';

const keys = new TestKeys();

for (const mode of ['local', 'redis'] as const) {
  describe(`signaling exchange (${mode})`, () => {
    let redis: RedisHandle | undefined;
    let a: RunningSignaling;
    let b: RunningSignaling;

    before(async () => {
      if (mode === 'redis') {
        redis = await startRedis();
        const env = {
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: `t${randomBytes(3).toString('hex')}:`,
          PRESENCE_TTL_MS: '3000',
        };
        a = await startSignaling(keys, env);
        b = await startSignaling(keys, env);
      } else {
        a = b = await startSignaling(keys);
      }
    });
    after(async () => {
      await a.stop();
      if (b !== a) await b.stop();
      await redis?.stop();
    });

    /** A robot endpoint registered on instance A (with `register` extra fields) and an app on B. */
    async function robotAndApp(robotId: string, register: object = {}) {
      const robot = await RawSocket.open(a.url);
      const app = await RawSocket.open(b.url);
      await robot.authenticate(await keys.robot(robotId));
      await app.authenticate(await keys.app('operator', [robotId]));
      robot.send({ type: 'register', ref: 'reg', endpoint: 'media', ...register });
      await robot.next('registered');
      return { robot, app };
    }

    /** One candidate from the app, relayed to the robot. */
    async function candidateReaches(app: RawSocket, robot: RawSocket, sessionId: string): Promise<void> {
      const candidate = {
        candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
      };
      app.send({ type: 'candidate', sessionId, candidate });
      await robot.next('candidate', (m) => m.sessionId === sessionId);
    }

    test('presence, session, offer/answer and candidates in order, ICE restart, close', async () => {
      const robot = await RawSocket.open(a.url);
      const app = await RawSocket.open(b.url);
      const rw = await robot.authenticate(await keys.robot('rover-1'));
      assert.equal(rw.role, 'robot');
      assert.equal(rw.subject, 'rover-1');
      await app.authenticate(await keys.app('operator', ['rover-1']));

      app.send({ type: 'subscribe_presence', ref: 's1' });
      const sub = await app.next('subscribed', (m) => m.ref === 's1');
      assert.deepEqual(sub.robots, []);

      robot.send({
        type: 'register',
        ref: 'reg',
        endpoint: 'media',
        meta: { name: 'Rover One', cameras: 2 },
      });
      assert.equal((await robot.next('registered')).robotId, 'rover-1');
      const online = await app.next('presence', (m) => m.online);
      assert.equal(online.robotId, 'rover-1');
      assert.equal(online.endpoint, 'media');
      assert.deepEqual(online.meta, { name: 'Rover One', cameras: 2 });

      app.send({ type: 'list_robots', ref: 'l' });
      const list = await app.next('robots');
      assert.equal(list.robots.length, 1);
      assert.equal(list.robots[0]!.endpoints[0]!.name, 'media');

      app.send({
        type: 'session_open',
        ref: 'o1',
        robotId: 'rover-1',
        endpoint: 'media',
        meta: { codec: 'vp8' },
      });
      const created = await app.next('session_created', (m) => m.ref === 'o1');
      const req = await robot.next('session_request');
      assert.equal(req.sessionId, created.sessionId);
      assert.equal(req.app.subject, 'operator');
      assert.deepEqual(req.meta, { codec: 'vp8' });
      const sid = req.sessionId;

      // Relays before acceptance are refused: the robot has not agreed to talk yet.
      app.send({ type: 'offer', ref: 'early', sessionId: sid, sdp: 'v=0' });
      assert.equal((await app.next('error', (m) => m.ref === 'early')).code, 'unknown_session');

      robot.send({ type: 'session_accept', ref: 'acc', sessionId: sid });
      await robot.next('session_accepted', (m) => m.ref === 'acc');
      await app.next('session_accepted', (m) => m.sessionId === sid);

      const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n${'a=x:'.padEnd(2000, 'y')}\r\n`;
      app.send({ type: 'offer', sessionId: sid, sdp });
      assert.equal((await robot.next('offer')).sdp, sdp);
      // A relayed message's ref is its sender's business: the other side gets the message without it.
      robot.send({ type: 'answer', ref: 'ans', sessionId: sid, sdp: 'v=0 answer' });
      const answer = await app.next('answer');
      assert.equal(answer.sdp, 'v=0 answer');
      assert.equal('ref' in answer, false);

      const n = 60;
      for (let i = 0; i < n; i++) {
        robot.send({
          type: 'candidate',
          sessionId: sid,
          candidate: {
            candidate: `candidate:${i} 1 udp 2122260223 10.0.0.${i % 250} ${50000 + i} typ host`,
            sdpMid: '0',
            sdpMLineIndex: 0,
          },
        });
      }
      robot.send({ type: 'end_of_candidates', sessionId: sid });
      const got: string[] = [];
      for (let i = 0; i < n; i++) got.push((await app.next('candidate')).candidate.candidate);
      assert.deepEqual(
        got,
        Array.from(
          { length: n },
          (_, i) => `candidate:${i} 1 udp 2122260223 10.0.0.${i % 250} ${50000 + i} typ host`,
        ),
      );
      await app.next('end_of_candidates', (m) => m.sessionId === sid);

      robot.send({ type: 'ice_restart', sessionId: sid, reason: 'connection failed' });
      assert.equal((await app.next('ice_restart')).reason, 'connection failed');

      app.send({ type: 'session_close', ref: 'bye', sessionId: sid, reason: 'operator left' });
      const mine = await app.next('session_closed', (m) => m.ref === 'bye');
      assert.equal(mine.by, 'self');
      const theirs = await robot.next('session_closed');
      assert.deepEqual([theirs.sessionId, theirs.reason, theirs.by], [sid, 'operator left', 'peer']);

      // The session is gone on both sides.
      robot.send({ type: 'answer', ref: 'late', sessionId: sid, sdp: 'v=0' });
      assert.equal((await robot.next('error', (m) => m.ref === 'late')).code, 'unknown_session');

      robot.close();
      const offline = await app.next('presence', (m) => !m.online);
      assert.equal(offline.robotId, 'rover-1');
      app.close();
    });

    test('an offer sent with session_open reaches the robot right after it accepts; the answer comes back', async () => {
      const { robot, app } = await robotAndApp('rover-9');
      const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n${'a=x:'.padEnd(4000, 'z')}\r\n`;
      app.send({ type: 'session_open', ref: 'open', robotId: 'rover-9', endpoint: 'media', offer: sdp });
      await app.next('session_created', (m) => m.ref === 'open');
      const { sessionId } = await robot.next('session_request');
      robot.send({ type: 'session_accept', ref: 'acc', sessionId });
      await robot.next('session_accepted', (m) => m.ref === 'acc');
      const offer = await robot.next('offer');
      assert.deepEqual([offer.sessionId, offer.sdp], [sessionId, sdp]);
      await app.next('session_accepted', (m) => m.sessionId === sessionId);
      robot.send({ type: 'answer', sessionId, sdp: 'v=0 answer' });
      assert.equal((await app.next('answer')).sdp, 'v=0 answer');
      // Exactly once: a second copy from the app's instance would come before what the app sends next.
      await candidateReaches(app, robot, sessionId);
      assert.equal(robot.received.filter((m) => m.type === 'offer').length, 0);
      robot.close();
      app.close();
    });

    test('an endpoint registered with offerInRequest gets the offer inside session_request and answers at once', async () => {
      const { robot, app } = await robotAndApp('rover-10', { offerInRequest: true });
      const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n${'a=x:'.padEnd(4000, 'y')}\r\n`;
      app.send({ type: 'session_open', ref: 'open', robotId: 'rover-10', endpoint: 'media', offer: sdp });
      await app.next('session_created', (m) => m.ref === 'open');
      const request = await robot.next('session_request');
      assert.equal(request.offer, sdp);
      const { sessionId } = request;
      // The answer goes out right behind the accept, before the service has confirmed it.
      robot.send({ type: 'session_accept', ref: 'acc', sessionId });
      robot.send({ type: 'answer', ref: 'ans', sessionId, sdp: 'v=0 answer' });
      assert.equal((await app.next('answer')).sdp, 'v=0 answer');
      // The acceptance came first (messages are read in order: a later one would not be here yet).
      await app.next('session_accepted', (m) => m.sessionId === sessionId, 0);
      await candidateReaches(app, robot, sessionId);
      // Neither instance sent the offer again, and the answer drew no error.
      assert.equal(robot.received.filter((m) => m.type === 'offer').length, 0);
      assert.equal(robot.received.filter((m) => m.type === 'error').length, 0);

      // Registered again without the flag: the next session's offer follows the acceptance, as for any robot.
      robot.send({ type: 'register', ref: 'reg2', endpoint: 'media' });
      await robot.next('registered', (m) => m.ref === 'reg2');
      app.send({ type: 'session_open', ref: 'open2', robotId: 'rover-10', endpoint: 'media', offer: sdp });
      const second = await robot.next('session_request', (m) => m.sessionId !== sessionId);
      assert.equal(second.offer, undefined);
      robot.send({ type: 'session_accept', ref: 'acc2', sessionId: second.sessionId });
      const offer = await robot.next('offer', (m) => m.sessionId === second.sessionId);
      assert.equal(offer.sdp, sdp);
      robot.close();
      app.close();
    });

    test('the robot rejects; a robot that disconnects ends its sessions', async () => {
      const robot = await RawSocket.open(a.url);
      const app = await RawSocket.open(b.url);
      await robot.authenticate(await keys.robot('rover-2'));
      await app.authenticate(await keys.app('operator2', '*'));
      app.send({ type: 'subscribe_presence', ref: 's2' });
      robot.send({ type: 'register', ref: 'r', endpoint: 'gateway' });
      await robot.next('registered');

      app.send({ type: 'session_open', ref: 'o', robotId: 'rover-2', endpoint: 'gateway' });
      const first = await robot.next('session_request');
      robot.send({ type: 'session_reject', sessionId: first.sessionId, reason: 'busy' });
      const rej = await app.next('session_rejected');
      assert.deepEqual([rej.sessionId, rej.reason], [first.sessionId, 'busy']);

      app.send({ type: 'session_open', ref: 'o2', robotId: 'rover-2', endpoint: 'gateway' });
      const second = await robot.next('session_request');
      robot.send({ type: 'session_accept', sessionId: second.sessionId });
      await app.next('session_accepted');
      robot.close();
      const closed = await app.next('session_closed', (m) => m.sessionId === second.sessionId);
      assert.equal(closed.by, 'service');
      // Across instances the session's end can reach the app's instance before the robot's departure does; once the
      // app has seen the robot go, a new session is refused.
      await app.next('presence', (m) => m.robotId === 'rover-2' && !m.online);

      app.send({ type: 'session_open', ref: 'o3', robotId: 'rover-2', endpoint: 'gateway' });
      assert.equal((await app.next('error', (m) => m.ref === 'o3')).code, 'robot_offline');
      app.close();
    });

    test('an app that leaves (1000, 1001) ends its sessions; one that drops or reconnects leaves them running', async () => {
      const robot = await RawSocket.open(a.url);
      await robot.authenticate(await keys.robot('rover-5'));
      robot.send({ type: 'register', ref: 'r', endpoint: 'media' });
      await robot.next('registered');
      // How the app's connection ends -> what the robot is told (by 'peer': end it; by 'service': it may live on).
      const cases: [string, (ws: RawSocket['ws']) => void, 'peer' | 'service', string][] = [
        ['closed (1000)', (ws) => ws.close(1000), 'peer', 'the app left'],
        ['page gone (1001)', (ws) => ws.close(1001), 'peer', 'the app left'],
        ['reconnecting (4000)', (ws) => ws.close(4000, 'goaway'), 'service', 'peer disconnected'],
        [
          'an older client reconnecting (1000 goaway)',
          (ws) => ws.close(1000, 'goaway'),
          'service',
          'peer disconnected',
        ],
        ['dropped', (ws) => ws.terminate(), 'service', 'peer disconnected'],
      ];
      for (const [how, end, by, reason] of cases) {
        const app = await RawSocket.open(b.url);
        await app.authenticate(await keys.app('leaver', ['rover-5']));
        app.send({ type: 'session_open', ref: 'o', robotId: 'rover-5', endpoint: 'media' });
        const req = await robot.next('session_request');
        robot.send({ type: 'session_accept', sessionId: req.sessionId });
        await app.next('session_accepted');
        end(app.ws);
        const closed = await robot.next('session_closed', (m) => m.sessionId === req.sessionId);
        assert.deepEqual([closed.by, closed.reason], [by, reason], how);
      }
      robot.close();
    });

    test('a second connection with the same robot identity replaces the first', async () => {
      const first = await RawSocket.open(a.url);
      await first.authenticate(await keys.robot('rover-3'));
      first.send({ type: 'register', endpoint: 'media' });
      await first.next('registered');

      const second = await RawSocket.open(b.url);
      await second.authenticate(await keys.robot('rover-3'));
      second.send({ type: 'register', endpoint: 'media' });
      await second.next('registered');

      const err = await first.next('error');
      assert.equal(err.code, 'replaced');
      assert.equal((await first.waitClosed()).code, 4409);

      // The newer connection keeps the registration: sessions reach it, and the robot stays online.
      const app = await RawSocket.open(a.url);
      await app.authenticate(await keys.app('op3', ['rover-3']));
      app.send({ type: 'list_robots' });
      assert.deepEqual(
        (await app.next('robots')).robots.map((r) => r.robotId),
        ['rover-3'],
      );
      app.send({ type: 'session_open', robotId: 'rover-3', endpoint: 'media' });
      await second.next('session_request');
      second.close();
      app.close();
    });

    test('the client library: connect, register, open a session, exchange, reconnect-free close', async () => {
      const robot = client(a.url, await keys.robot('rover-4'), { endpoints: [{ name: 'media' }] });
      const app = client(b.url, () => keys.app('op4', ['rover-4']));
      const offers: ServerMessageOf<'offer'>[] = [];
      robot.on('session_request', (m) => void robot.acceptSession(m.sessionId));
      robot.on('offer', (m) => {
        offers.push(m);
        robot.sendAnswer(m.sessionId, 'answer-sdp');
      });
      await robot.connect();
      await app.connect();
      const robots = await eventually(async () => {
        const r = await app.subscribePresence();
        return r.length ? r : undefined;
      });
      assert.equal(robots[0]!.robotId, 'rover-4');
      const sessionId = await app.openSession('rover-4', 'media');
      const answer = new Promise<string>((resolve) => app.once('answer', (m) => resolve(m.sdp)));
      assert.equal(app.sendOffer(sessionId, 'offer-sdp'), true);
      assert.equal(await answer, 'answer-sdp');
      assert.equal(offers[0]!.sdp, 'offer-sdp');
      robot.close();
      app.close();
      assert.equal(robot.state, 'closed');
    });
  });
}
