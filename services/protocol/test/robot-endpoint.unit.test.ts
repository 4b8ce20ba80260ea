// RobotEndpointHost against a real SignalingClient over a fake service connection, with a fake session: the
// signaling rules every robot endpoint relies on, without a WebRTC engine.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RobotEndpointHost,
  SignalingClient,
  type EndpointLog,
  type MaybeCandidate,
  type PeerState,
  type RobotEndpointHostOptions,
  type RobotSession,
  type SessionContext,
  type SessionEnd,
} from '../src/client/index.js';
import type { IceCandidate } from '../src/index.js';
import { FakeSignaling } from './support/fake-signaling.js';

const silent: EndpointLog = { debug() {}, info() {}, warn() {}, child: () => silent };

class FakeSession implements RobotSession {
  restartable = true;
  connectionState: PeerState = 'new';
  readonly answers: Array<{ offer: string; restart: boolean; resolve: (sdp: string) => void }> = [];
  readonly remote: MaybeCandidate[] = [];
  closedWith: SessionEnd | null = null;

  constructor(readonly ctx: SessionContext) {}

  answer(offer: string, restart: boolean): Promise<string> {
    return new Promise((resolve) => this.answers.push({ offer, restart, resolve }));
  }
  async addRemoteCandidate(c: MaybeCandidate): Promise<void> {
    this.remote.push(c);
  }
  async close(end: SessionEnd): Promise<void> {
    this.closedWith = end;
  }
  setState(state: PeerState): void {
    this.connectionState = state;
    this.ctx.connectionState(state);
  }
}

/** Read through a call: an earlier assert.equal(x, null) would narrow the field for good. */
const endOf = (s: FakeSession): SessionEnd | null => s.closedWith;

const cand = (n: number): IceCandidate => ({
  candidate: `candidate:${n} 1 udp 1 10.0.0.${n} 5000 typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

async function eventually(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets every frame in flight arrive (the fake delivers on setImmediate). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

async function setup(o: Partial<RobotEndpointHostOptions<FakeSession>> = {}) {
  const service = new FakeSignaling();
  const client = new SignalingClient({
    url: 'ws://signaling.test/v1/ws',
    token: () => 'robot-token',
    WebSocket: service.WebSocket,
    reconnect: { initialDelayMs: 10, maxDelayMs: 20, jitter: 0 },
  });
  const sessions: FakeSession[] = [];
  const host = new RobotEndpointHost<FakeSession>({
    endpoint: 'media',
    meta: () => ({ name: 'robot one' }),
    maxSessions: 4,
    tooManyReason: 'too many viewers',
    shutdownReason: 'robot shutting down',
    outlivesAppSignaling: true,
    log: silent,
    restartAfterDisconnectedMs: 50,
    createSession: (ctx) => {
      const s = new FakeSession(ctx);
      sessions.push(s);
      return s;
    },
    ...o,
  });
  await host.attach(client, 'test');
  await client.connect();
  await service.until((m) => m.type === 'register', 'register');

  const open = async (sessionId: string): Promise<FakeSession> => {
    service.push({
      type: 'session_request',
      sessionId,
      endpoint: 'media',
      app: { subject: 'app-1', grants: ['view'] },
    });
    await service.until((m) => m.type === 'session_accept' && m['sessionId'] === sessionId, 'accept');
    const s = sessions.find((x) => x.ctx.sessionId === sessionId);
    assert.ok(s);
    return s;
  };
  const offer = (sessionId: string, sdp: string): void => service.push({ type: 'offer', sessionId, sdp });
  const answered = async (s: FakeSession, sdp = 'v=0 answer'): Promise<void> => {
    const n = s.answers.length;
    offer(s.ctx.sessionId, `v=0 offer ${n}`);
    await eventually(() => s.answers.length === n + 1, 'answer() call');
    s.answers[n]!.resolve(sdp);
    await service.until((m) => m.type === 'answer' && m['sdp'] === sdp, 'the answer');
  };
  return {
    service,
    client,
    host,
    sessions,
    open,
    offer,
    answered,
    async close() {
      await host.close();
      client.close();
    },
  };
}

describe('RobotEndpointHost', () => {
  test('local candidates wait for the answer, then follow it; an ICE restart holds them again', async () => {
    const t = await setup();
    const s = await t.open('s1');
    t.offer('s1', 'v=0 offer');
    await eventually(() => s.answers.length === 1, 'answer() call');
    s.ctx.localCandidate(cand(1));
    s.ctx.localCandidate(cand(2));
    await settle();
    assert.equal(t.service.of('candidate').length, 0, 'no candidate before the answer');

    s.answers[0]!.resolve('v=0 answer 1');
    await t.service.until((m) => m.type === 'candidate' && m['candidate'] !== undefined, 'candidates');
    await settle();
    const order = t.service.sent.filter((m) => m.type === 'answer' || m.type === 'candidate');
    assert.deepEqual(
      order.map((m) => (m.type === 'answer' ? m['sdp'] : (m['candidate'] as IceCandidate).candidate)),
      ['v=0 answer 1', cand(1).candidate, cand(2).candidate],
    );
    s.ctx.localCandidate(null);
    await t.service.until((m) => m.type === 'end_of_candidates', 'end_of_candidates');

    // The app's ICE restart: a second offer; candidates of the new generation wait for its answer.
    t.offer('s1', 'v=0 offer restart');
    await eventually(() => s.answers.length === 2, 'second answer() call');
    assert.equal(s.answers[1]!.restart, true);
    s.ctx.localCandidate(cand(3));
    await settle();
    assert.equal(t.service.of('candidate').length, 2, 'the restart candidate waits for the restart answer');
    s.answers[1]!.resolve('v=0 answer 2');
    await t.service.until(
      (m) => m.type === 'candidate' && (m['candidate'] as IceCandidate).candidate === cand(3).candidate,
      'the restart candidate',
    );
    const answers = t.service.sent.findIndex((m) => m['sdp'] === 'v=0 answer 2');
    const third = t.service.sent.findIndex(
      (m) => m.type === 'candidate' && (m['candidate'] as IceCandidate).candidate === cand(3).candidate,
    );
    assert.ok(answers < third, 'the restart answer precedes its candidates');
    await t.close();
  });

  test('an offer that comes with the request is answered right behind the accept', async () => {
    const t = await setup();
    assert.equal(t.service.of('register')[0]!['offerInRequest'], true, 'the endpoint says it takes one');
    t.service.push({
      type: 'session_request',
      sessionId: 's1',
      endpoint: 'media',
      app: { subject: 'app-1', grants: ['view'] },
      offer: 'v=0 opening offer',
    });
    await eventually(() => t.sessions[0]?.answers.length === 1, 'answer() call');
    const s = t.sessions[0]!;
    assert.deepEqual([s.answers[0]!.offer, s.answers[0]!.restart], ['v=0 opening offer', false]);
    s.ctx.localCandidate(cand(1));
    s.answers[0]!.resolve('v=0 answer');
    await t.service.until((m) => m.type === 'candidate', 'the candidate');
    const order = t.service.sent
      .filter((m) => m['sessionId'] === 's1')
      .map((m) => (m.type === 'answer' ? `answer ${String(m['sdp'])}` : m.type));
    assert.deepEqual(order, ['session_accept', 'answer v=0 answer', 'candidate']);
    // A later offer (an ICE restart) still comes as an ordinary offer.
    t.offer('s1', 'v=0 restart');
    await eventually(() => s.answers.length === 2, 'second answer() call');
    assert.equal(s.answers[1]!.restart, true);
    await t.close();
  });

  test("one session's offers and remote candidates are handled in arrival order", async () => {
    const t = await setup();
    const s = await t.open('s1');
    const push = (c: IceCandidate | null): void =>
      t.service.push(
        c
          ? { type: 'candidate', sessionId: 's1', candidate: c }
          : { type: 'end_of_candidates', sessionId: 's1' },
      );
    push(cand(0)); // before any offer: held until the session can take it
    t.offer('s1', 'v=0 offer 1');
    push(cand(1));
    push({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 }); // Chromium's empty end marker: dropped
    t.offer('s1', 'v=0 offer 2');
    push(cand(2));
    push(null);
    await eventually(() => s.answers.length === 1, 'first answer() call');
    await settle();
    assert.equal(s.answers.length, 1, 'the second offer waits for the first');
    assert.deepEqual(s.remote, [], 'remote candidates wait for the offer before them');

    s.answers[0]!.resolve('v=0 answer 1');
    await eventually(() => s.answers.length === 2, 'second answer() call');
    assert.deepEqual(s.remote, [cand(0), cand(1)]);
    assert.equal(s.answers[1]!.restart, true);
    s.answers[1]!.resolve('v=0 answer 2');
    await eventually(() => s.remote.length === 4, 'the rest of the remote candidates');
    assert.deepEqual(s.remote.slice(2), [cand(2), null]);
    await t.close();
  });

  test('asks the app for an ICE restart after being disconnected a while, at once when failed', async () => {
    const t = await setup();
    const s = await t.open('s1');
    await t.answered(s);
    s.setState('connected');
    s.setState('disconnected');
    await new Promise((r) => setTimeout(r, 10));
    s.setState('connected'); // a blip shorter than the wait: no restart
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.service.of('ice_restart').length, 0);

    s.setState('disconnected');
    const req = await t.service.until((m) => m.type === 'ice_restart', 'ice_restart');
    assert.deepEqual([req['sessionId'], req['reason']], ['s1', 'disconnected']);
    s.setState('failed');
    await t.service.until(
      (m) => m.type === 'ice_restart' && m['reason'] === 'failed',
      'ice_restart (failed)',
    );
    assert.equal(t.host.list()[0]?.iceRestartsRequested, 2);

    // A session that cannot renegotiate (WHEP) is never asked to.
    const w = await t.open('s2');
    w.restartable = false;
    await t.answered(w, 'v=0 whep answer');
    w.setState('failed');
    await settle();
    assert.equal(t.service.of('ice_restart').filter((m) => m['sessionId'] === 's2').length, 0);
    await t.close();
  });

  test('after a reconnect the endpoint is registered again; old sessions go unsignaled, new ones work', async () => {
    const t = await setup();
    const live = await t.open('s1');
    await t.answered(live);
    const pending = await t.open('s2'); // accepted, no offer yet
    assert.equal(t.service.of('register').length, 1);

    t.service.drop();
    await eventually(() => t.service.of('register').length === 2, 're-registration');
    const again = t.service.of('register')[1]!;
    assert.deepEqual([again['endpoint'], again['meta']], ['media', { name: 'robot one' }]);
    assert.equal(pending.closedWith?.cause, 'signaling', 'a session that never got its offer ends');
    assert.equal(live.closedWith, null, 'an answered session lives on');
    assert.deepEqual(
      t.host.list().map((s) => [s.id, s.signaled]),
      [['s1', false]],
    );
    const before = t.service.sent.length;
    live.ctx.localCandidate(cand(9));
    live.setState('failed');
    await settle();
    assert.equal(t.service.sent.length, before, 'nothing is signaled for a session of the lost connection');

    const fresh = await t.open('s3');
    await t.answered(fresh, 'v=0 answer after reconnect');
    await t.close();
  });

  test('session ends: the app closing, the session ending itself, too many, and close() telling the apps', async () => {
    const t = await setup({ maxSessions: 3 });
    const a = await t.open('a');
    await t.answered(a);
    t.service.push({ type: 'session_closed', sessionId: 'a', reason: 'peer_gone', by: 'service' });
    await settle();
    assert.equal(a.closedWith, null, 'outlives the app signaling when answered');
    assert.equal(t.host.list()[0]?.signaled, false);

    const b = await t.open('b');
    t.service.push({ type: 'session_closed', sessionId: 'b', reason: 'bye', by: 'peer' });
    await eventually(() => b.closedWith !== null, 'b closed');
    assert.equal(b.closedWith?.cause, 'app');

    const c = await t.open('c');
    c.ctx.ended('viewer closed');
    const closeC = await t.service.until(
      (m) => m.type === 'session_close' && m['sessionId'] === 'c',
      'close c',
    );
    assert.equal(closeC['reason'], 'viewer closed');

    await t.open('d');
    await t.open('e');
    t.service.push({
      type: 'session_request',
      sessionId: 'f',
      endpoint: 'media',
      app: { subject: 'x', grants: ['view'] },
    });
    const rejected = await t.service.until((m) => m.type === 'session_reject', 'reject');
    assert.deepEqual([rejected['sessionId'], rejected['reason']], ['f', 'too many viewers']);

    await t.host.close();
    assert.deepEqual(
      t.service
        .of('session_close')
        .filter((m) => m['reason'] === 'robot shutting down')
        .map((m) => m['sessionId'])
        .sort(),
      ['d', 'e'],
      'signaled sessions hear the shutdown; the unsignaled one does not',
    );
    assert.equal(endOf(a)?.cause, 'shutdown');
    t.client.close();
  });

  test("a session the app closed its end of tells signaling only if the app's own close does not come first", async () => {
    const t = await setup();
    // The app's session_close (relayed as session_closed) arrives within the grace: the robot says nothing.
    const a = await t.open('a');
    await t.answered(a);
    a.ctx.ended('the app closed its connection', true);
    assert.equal(a.closedWith?.cause, 'app', 'the session itself ends at once');
    assert.equal(t.host.sessionCount, 0);
    t.service.push({ type: 'session_closed', sessionId: 'a', reason: 'closed by the operator', by: 'peer' });
    // An app that closed only its connection, its signaling still up: told once the grace is over.
    const b = await t.open('b');
    await t.answered(b);
    b.ctx.ended('the app closed its connection', true);
    const closeB = await t.service.until(
      (m) => m.type === 'session_close' && m['sessionId'] === 'b',
      'close b after the grace',
      5_000,
    );
    assert.equal(closeB['reason'], 'the app closed its connection');
    assert.deepEqual(
      t.service.of('session_close').map((m) => m['sessionId']),
      ['b'],
      'nothing sent for a (it would cross the app close and earn unknown_session)',
    );
    await t.close();
  });

  test('a full robot lets an app take over its own older seat: the same console, or one whose app is gone', async () => {
    const t = await setup({ maxSessions: 2 });
    const request = (sessionId: string, subject: string, console?: string): void =>
      t.service.push({
        type: 'session_request',
        sessionId,
        endpoint: 'media',
        app: { subject, grants: ['view'] },
        ...(console ? { meta: { console } } : {}),
      });
    request('a', 'alice', 'tab-1');
    request('b', 'bob');
    await t.service.until((m) => m.type === 'session_accept' && m['sessionId'] === 'b', 'b accepted');
    const [a, b] = t.sessions;
    // Someone else's request is refused: seats are not taken from other apps.
    request('c', 'carol');
    const refused = await t.service.until((m) => m.type === 'session_reject', 'reject c');
    assert.equal(refused['sessionId'], 'c');
    // The same console (a reload) takes over its seat even while its old session is still signaled.
    request('a2', 'alice', 'tab-1');
    await t.service.until((m) => m.type === 'session_accept' && m['sessionId'] === 'a2', 'a2 accepted');
    assert.equal(endOf(a!)?.reason, 'replaced by a newer session of the same app');
    // Without a console id only a seat whose app signaling is gone is taken.
    request('b2', 'bob');
    await t.service.until((m) => m.type === 'session_reject' && m['sessionId'] === 'b2', 'b2 refused');
    t.service.push({ type: 'session_closed', sessionId: 'b', reason: 'peer_gone', by: 'service' });
    await settle();
    request('b3', 'bob');
    await t.service.until((m) => m.type === 'session_accept' && m['sessionId'] === 'b3', 'b3 accepted');
    assert.equal(endOf(b!)?.cause, 'app');
    await t.close();
  });

  test('a session whose app signaling is gone closes as soon as its path dies (no restart can come)', async () => {
    const t = await setup({ deadAfterMs: 60_000 });
    const s = await t.open('s1');
    await t.answered(s);
    s.setState('connected');
    t.service.push({ type: 'session_closed', sessionId: 's1', reason: 'peer_gone', by: 'service' });
    await settle();
    assert.equal(endOf(s), null, 'a connected session outlives its app signaling');
    s.setState('disconnected');
    await eventually(() => endOf(s) !== null, 'closed at once, not after deadAfterMs');
    assert.equal(t.service.of('ice_restart').length, 0);
    // And a session whose path is already dead when the app's signaling goes closes then.
    const d = await t.open('s2');
    await t.answered(d);
    t.sessions[1]!.connectionState = 'disconnected';
    t.service.push({ type: 'session_closed', sessionId: 's2', reason: 'peer_gone', by: 'service' });
    await eventually(() => endOf(d) !== null, 'closed when signaling went');
    await t.close();
  });
  test('a request whose grants lack view is rejected before any session exists (signaling is not the only check)', async () => {
    const t = await setup();
    t.service.push({
      type: 'session_request',
      sessionId: 'g',
      endpoint: 'media',
      app: { subject: 'x', grants: [] },
    });
    const rejected = await t.service.until((m) => m.type === 'session_reject', 'reject');
    assert.deepEqual(
      [rejected['sessionId'], rejected['reason']],
      ['g', 'this token does not grant view on this robot'],
    );
    assert.equal(t.sessions.length, 0);
    // What the robot hands a session is what signaling said the token grants.
    t.service.push({
      type: 'session_request',
      sessionId: 'h',
      endpoint: 'media',
      app: { subject: 'y', grants: ['view', 'talk'] },
    });
    await t.service.until((m) => m.type === 'session_accept' && m['sessionId'] === 'h', 'accept');
    assert.deepEqual(t.sessions[0]?.ctx.grants, ['view', 'talk']);
    await t.close();
  });
});
