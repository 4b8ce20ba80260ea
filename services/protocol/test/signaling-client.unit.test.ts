/** SignalingClient against a scripted fake WebSocket: no service, no network. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloseCode, type ClientMessage, type ServerMessage } from '../src/index.js';
import {
  SignalingClient,
  SignalingError,
  type ClientState,
  type SignalingClientOptions,
  type WebSocketLike,
} from '../src/client/index.js';

class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  readonly sent: ClientMessage[] = [];
  closedBy: { code?: number; reason?: string } | undefined;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(code?: number, reason?: string): void {
    // As a browser's WebSocket does (WHATWG: InvalidAccessError for any other code).
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999))
      throw new Error(`InvalidAccessError: close code ${code}`);
    this.closedBy = { code, reason };
    this.readyState = 3;
  }

  // --- the service's side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(m: ServerMessage | string): void {
    this.onmessage?.({ data: typeof m === 'string' ? m : JSON.stringify(m) });
  }
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** The last message of this type the client sent. */
  last<T extends ClientMessage['type']>(type: T): Extract<ClientMessage, { type: T }> {
    const m = this.sent.filter((s) => s.type === type).at(-1);
    if (!m) throw new Error(`the client sent no ${type}; sent: ${JSON.stringify(this.sent)}`);
    return m as Extract<ClientMessage, { type: T }>;
  }
}

function welcome(iceServersExpireAt: number | null = null): ServerMessage {
  return {
    type: 'welcome',
    protocol: 1,
    peerId: 'i1.1',
    instanceId: 'i1',
    role: 'robot',
    subject: 'rover',
    iceServers: [{ urls: 'stun:stun.example.org' }],
    iceServersExpireAt,
    tokenExpiresAt: Date.now() + 600_000,
    limits: { maxMessageBytes: 65536, messagesPerSecond: 50, burst: 200, maxSessions: 16 },
  };
}

function setup(opts: Partial<SignalingClientOptions> = {}) {
  const sockets: FakeSocket[] = [];
  const states: ClientState[] = [];
  const client = new SignalingClient({
    url: 'ws://signaling.test/v1/ws',
    token: 'tok',
    WebSocket: class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    },
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
    requestTimeoutMs: 200,
    pingIntervalMs: 60_000,
    ...opts,
  });
  client.on('state', (s) => states.push(s));
  return { client, sockets, states };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Waits until the client made its n-th socket (token providers and reconnects are asynchronous). */
async function socketNo(sockets: FakeSocket[], n: number, timeoutMs = 500): Promise<FakeSocket> {
  const deadline = Date.now() + timeoutMs;
  while (sockets.length < n && Date.now() < deadline) await tick(1);
  const s = sockets[n - 1];
  if (!s) throw new Error(`no socket #${n}`);
  return s;
}

/** Connects the client through open and welcome, answering the registrations it sends after it. */
async function connected(opts: Partial<SignalingClientOptions> = {}) {
  const t = setup(opts);
  const ready = t.client.connect();
  const ws = await socketNo(t.sockets, 1);
  ws.open();
  ws.receive(welcome());
  await answerRegistrations(ws);
  await ready;
  return { ...t, ws };
}

async function answerRegistrations(ws: FakeSocket): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await tick();
    const pending = ws.sent.filter(
      (m): m is Extract<ClientMessage, { type: 'register' }> => m.type === 'register' && !answered.has(m),
    );
    for (const r of pending) {
      answered.add(r);
      ws.receive({ type: 'registered', ref: r.ref!, robotId: 'rover', endpoint: r.endpoint });
    }
  }
}
const answered = new WeakSet<object>();

describe('connecting', () => {
  test('authenticates on open, then registers its endpoints, then resolves with the welcome', async () => {
    const t = setup({ clientName: 'unit/1', endpoints: [{ name: 'media', meta: { cams: 2 } }] });
    let welcomed = false;
    const ready = t.client.connect().then((w) => {
      welcomed = true;
      return w;
    });
    const ws = await socketNo(t.sockets, 1);
    assert.equal(ws.url, 'ws://signaling.test/v1/ws');
    assert.equal(t.client.state, 'connecting');
    ws.open();
    assert.deepEqual(ws.last('authenticate'), { type: 'authenticate', token: 'tok', client: 'unit/1' });
    assert.equal(t.client.state, 'authenticating');
    ws.receive(welcome());
    await tick();
    const reg = ws.last('register');
    assert.deepEqual(
      { ...reg, ref: undefined },
      {
        type: 'register',
        endpoint: 'media',
        meta: { cams: 2 },
        ref: undefined,
      },
    );
    assert.equal(welcomed, false, 'the welcome event waits for the registrations');
    ws.receive({ type: 'registered', ref: reg.ref!, robotId: 'rover', endpoint: 'media' });
    const w = await ready;
    assert.equal(w.peerId, 'i1.1');
    assert.equal(t.client.state, 'ready');
    assert.deepEqual(t.client.iceServers, [{ urls: 'stun:stun.example.org' }]);
    t.client.close();
    assert.equal(t.client.state, 'closed');
    assert.equal(ws.closedBy?.code, CloseCode.Normal);
  });

  test('nothing but authenticate is sent before the welcome', async () => {
    const t = setup();
    void t.client.connect().catch(() => undefined);
    const ws = await socketNo(t.sockets, 1);
    ws.open();
    assert.equal(t.client.send({ type: 'ping' }), false);
    assert.deepEqual(
      ws.sent.map((m) => m.type),
      ['authenticate'],
    );
    t.client.close();
  });

  for (const code of [CloseCode.Forbidden, CloseCode.Replaced, CloseCode.Unauthorized]) {
    test(`close code ${code} with a fixed token is fatal: no reconnect, connect() rejects`, async () => {
      const t = setup();
      const fatal: Array<{ code: number }> = [];
      t.client.on('fatal', (f) => fatal.push(f));
      const ready = t.client.connect();
      const ws = await socketNo(t.sockets, 1);
      ws.open();
      ws.drop(code, 'nope');
      await assert.rejects(ready, (e: unknown) => e instanceof SignalingError && e.code === 'closed');
      assert.deepEqual(fatal, [{ code, reason: 'nope' }]);
      await tick(40);
      assert.equal(t.sockets.length, 1);
      assert.equal(t.client.state, 'closed');
    });
  }

  test('4401 with a token provider reconnects and asks the provider for a fresh token', async () => {
    let n = 0;
    const t = setup({ token: () => `tok-${++n}` });
    const ready = t.client.connect();
    const first = await socketNo(t.sockets, 1);
    first.open();
    assert.equal(first.last('authenticate').token, 'tok-1');
    first.drop(CloseCode.Unauthorized, 'token_expired');
    const second = await socketNo(t.sockets, 2);
    second.open();
    assert.equal(second.last('authenticate').token, 'tok-2');
    second.receive(welcome());
    await ready;
    t.client.close();
  });
});

describe('requests', () => {
  test('a reply is matched by ref; an error reply rejects with its code and ref; silence times out', async () => {
    const { client, ws } = await connected();
    const list = client.listRobots();
    const req = ws.last('list_robots');
    ws.receive({ type: 'robots', ref: 'someone-else', robots: [] });
    ws.receive({ type: 'robots', ref: req.ref!, robots: [{ robotId: 'rover', endpoints: [] }] });
    assert.deepEqual(await list, [{ robotId: 'rover', endpoints: [] }]);

    const refused = client.subscribePresence();
    const sub = ws.last('subscribe_presence');
    ws.receive({ type: 'error', code: 'wrong_role', message: 'for apps', ref: sub.ref! });
    await assert.rejects(
      refused,
      (e: unknown) => e instanceof SignalingError && e.code === 'wrong_role' && e.ref === sub.ref,
    );

    await assert.rejects(
      client.refreshIceServers(),
      (e: unknown) => e instanceof SignalingError && e.code === 'timeout',
    );
    client.close();
  });

  test('openSession resolves when the robot accepts, and rejects when it refuses or the session closes', async () => {
    const { client, ws } = await connected();
    const open = async (then: (sessionId: string) => void) => {
      const p = client.openSession('rover', 'media');
      await tick();
      const req = ws.last('session_open');
      ws.receive({
        type: 'session_created',
        ref: req.ref!,
        sessionId: `s-${req.ref}`,
        robotId: 'rover',
        endpoint: 'media',
      });
      await tick();
      then(`s-${req.ref}`);
      return p;
    };
    assert.match(await open((id) => ws.receive({ type: 'session_accepted', sessionId: id })), /^s-/);
    await assert.rejects(
      open((id) => ws.receive({ type: 'session_rejected', sessionId: id, reason: 'busy' })),
      (e: unknown) => e instanceof SignalingError && e.code === 'forbidden' && /busy/.test(e.message),
    );
    await assert.rejects(
      open((id) => ws.receive({ type: 'session_closed', sessionId: id, reason: 'gone', by: 'service' })),
      (e: unknown) => e instanceof SignalingError && e.code === 'peer_gone',
    );
    client.close();
  });

  test('a robot accepting a session gets the reply and the session_accepted event alike', async () => {
    const { client, ws } = await connected();
    const events: string[] = [];
    client.on('session_accepted', (m) => events.push(m.sessionId));
    const accepted = client.acceptSession('s1');
    const req = ws.last('session_accept');
    assert.equal(req.sessionId, 's1');
    ws.receive({ type: 'session_accepted', ref: req.ref!, sessionId: 's1' });
    assert.equal((await accepted).type, 'session_accepted');
    assert.deepEqual(events, ['s1']);
    client.close();
  });

  test('pending requests fail with not_connected when the connection drops', async () => {
    const { client, ws } = await connected();
    const list = client.listRobots();
    ws.drop(1006);
    await assert.rejects(list, (e: unknown) => e instanceof SignalingError && e.code === 'not_connected');
    client.close();
  });
});

describe('offerInRequest', () => {
  /** What a service of an older version answers a register naming the field (its validator's own words). */
  const refuse = (ws: FakeSocket, ref: string): void =>
    ws.receive({
      type: 'error',
      code: 'bad_message',
      message: 'register: field /offerInRequest: Unexpected property',
      ref,
    });

  test('an older service refuses the field: the endpoint registers without it, on that connection only', async () => {
    const { client, ws, sockets } = await connected();
    const registered = client.register('media', { cams: 1 }, { offerInRequest: true });
    await tick();
    const first = ws.last('register');
    assert.equal(first.offerInRequest, true);
    refuse(ws, first.ref!);
    await tick();
    const second = ws.last('register');
    assert.notEqual(second.ref, first.ref);
    assert.deepEqual(
      { ...second, ref: undefined },
      { type: 'register', endpoint: 'media', meta: { cams: 1 }, ref: undefined },
    );
    ws.receive({ type: 'registered', ref: second.ref!, robotId: 'rover', endpoint: 'media' });
    await registered;

    // A later registration on the same connection does not ask again.
    const update = client.register('media', { cams: 2 }, { offerInRequest: true });
    await tick();
    assert.equal(ws.last('register').offerInRequest, undefined);
    ws.receive({ type: 'registered', ref: ws.last('register').ref!, robotId: 'rover', endpoint: 'media' });
    await update;

    // The next connection may be to another instance, of another version: it asks again.
    ws.drop(1006);
    const again = await socketNo(sockets, 2);
    again.open();
    again.receive(welcome());
    await tick();
    assert.equal(again.last('register').offerInRequest, true);
    await answerRegistrations(again);
    client.close();
  });

  test('any other refusal of the registration is not retried', async () => {
    const { client, ws } = await connected();
    const registered = client.register('media', undefined, { offerInRequest: true });
    await tick();
    const reg = ws.last('register');
    ws.receive({
      type: 'error',
      code: 'shutting_down',
      message: 'instance is draining; reconnect',
      ref: reg.ref!,
    });
    await assert.rejects(registered, (err: SignalingError) => err.code === 'shutting_down');
    assert.equal(ws.sent.filter((m) => m.type === 'register').length, 1);
    client.close();
  });
});

describe('reconnecting', () => {
  test('after a drop it reconnects with backoff, registers its endpoints and resubscribes presence again', async () => {
    const { client, ws, sockets, states } = await connected({ endpoints: [{ name: 'media' }] });
    const sub = client.subscribePresence();
    ws.receive({ type: 'subscribed', ref: ws.last('subscribe_presence').ref!, robots: [] });
    await sub;

    ws.drop(1006);
    assert.equal(client.state, 'reconnecting');
    const again = await socketNo(sockets, 2);
    again.open();
    again.receive(welcome());
    await answerRegistrations(again);
    assert.equal(again.last('register').endpoint, 'media');
    const resub = again.last('subscribe_presence');
    again.receive({ type: 'subscribed', ref: resub.ref!, robots: [] });
    await tick();
    assert.equal(client.state, 'ready');
    assert.deepEqual(states.slice(-3), ['reconnecting', 'authenticating', 'ready']);
    client.close();
  });

  test('goaway: the client leaves and comes back after the delay the service asked for', async () => {
    const { client, ws, sockets } = await connected();
    const goaways: number[] = [];
    client.on('goaway', (g) => goaways.push(g.reconnectInMs));
    ws.receive({ type: 'goaway', reason: 'draining', reconnectInMs: 0 });
    assert.deepEqual(goaways, [0]);
    // Reconnecting, not leaving: signaling keeps this connection's sessions running (docs/protocol.md "Leaving").
    assert.equal(ws.closedBy?.code, CloseCode.Reconnecting);
    // The client adds up to 250 ms of jitter to the service's delay (clients of a draining instance spread out).
    await socketNo(sockets, 2, 1_000);
    client.close();
  });

  test('a connection that went quiet (half-open) is closed as a reconnect, with a code a browser accepts', async () => {
    const { client, ws, sockets } = await connected({ pingIntervalMs: 10 });
    // Nothing from the service for two ping intervals.
    await socketNo(sockets, 2);
    // A page may close a WebSocket only with 1000 or 3000-4999: 4000 (1001 would throw there and never reconnect).
    assert.deepEqual(ws.closedBy, { code: CloseCode.Reconnecting, reason: 'keepalive timeout' });
    client.close();
  });

  test('reconnect: false closes for good after a drop', async () => {
    const { client, ws, sockets } = await connected({ reconnect: false });
    ws.drop(1006);
    await tick(30);
    assert.equal(client.state, 'closed');
    assert.equal(sockets.length, 1);
  });
});

describe('events', () => {
  test('session traffic becomes typed events; invalid frames and unrequested errors become error events', async () => {
    const { client, ws } = await connected();
    const offers: string[] = [];
    const errors: string[] = [];
    client.on('offer', (m) => offers.push(m.sdp));
    client.on('error', (e) => errors.push(e.code));
    ws.receive({ type: 'offer', sessionId: 's', sdp: 'v=0' });
    ws.receive('{not json');
    ws.receive({ type: 'error', code: 'rate_limited', message: 'slow down' });
    assert.deepEqual(offers, ['v=0']);
    assert.deepEqual(errors, ['bad_json', 'rate_limited']);
    assert.equal(client.sendAnswer('s', 'v=0 answer'), true);
    assert.deepEqual(ws.last('answer'), { type: 'answer', sessionId: 's', sdp: 'v=0 answer' });
    client.close();
  });
});
