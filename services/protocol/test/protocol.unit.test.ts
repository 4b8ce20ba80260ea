import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientMessage, parseServerMessage, exceedsJsonDepth, MAX_JSON_DEPTH } from '../src/index.js';
import { appToGateway } from '../src/gateway/index.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/client/index.js';

test('client messages: valid ones pass, invalid ones get the code and name the field', () => {
  const ok = parseClientMessage(
    '{"type":"candidate","ref":"r","sessionId":"abc","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0}}',
  );
  assert.equal(ok.ok, true);
  const cases: Array<[string, string, RegExp?]> = [
    ['{', 'bad_json'],
    ['7', 'bad_message'],
    ['{"type":"nope","ref":"x"}', 'unknown_type'],
    ['{"type":"session_open","robotId":"r","endpoint":"Media"}', 'bad_message', /endpoint/],
    ['{"type":"offer","sessionId":"a b","sdp":"v=0"}', 'bad_message', /sessionId/],
    ['{"type":"ping","t":"soon"}', 'bad_message', /\/t/],
  ];
  for (const [raw, code, field] of cases) {
    const r = parseClientMessage(raw);
    assert.equal(r.ok, false, raw);
    if (!r.ok) {
      assert.equal(r.error.code, code, raw);
      if (field) assert.match(r.error.message, field);
    }
  }
  const withRef = parseClientMessage('{"type":"register","ref":"abc","endpoint":5}');
  assert.equal(!withRef.ok && withRef.error.ref, 'abc');
});

test('server messages are validated by the client too', () => {
  assert.equal(parseServerMessage('{"type":"error","code":"forbidden","message":"x"}').ok, true);
  assert.equal(parseServerMessage('{"type":"error","code":"made_up","message":"x"}').ok, false);
});

test('backoff grows exponentially to the cap, with jitter taking at most its share', () => {
  const o = DEFAULT_BACKOFF;
  assert.equal(
    backoffDelay(0, o, () => 0),
    o.initialDelayMs,
  );
  assert.equal(
    backoffDelay(3, o, () => 0),
    o.initialDelayMs * 8,
  );
  assert.equal(
    backoffDelay(50, o, () => 0),
    o.maxDelayMs,
  );
  assert.equal(
    backoffDelay(50, o, () => 1),
    Math.round(o.maxDelayMs * (1 - o.jitter)),
  );
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, o)));
  assert.ok(spread.size > 10, 'delays differ so a fleet does not reconnect in lockstep');
});

test('gateway data-channel messages: one frame or a batch of frames, each checked on its own', async () => {
  const { gatewayToApp } = await import('../src/gateway/index.js');
  const telemetry = (i: number) => ({ v: 1, type: 'telemetry', service: 'arm', topic: 't', payload: i });
  const one = gatewayToApp.decodeBatch(JSON.stringify(telemetry(1)));
  assert.equal(one.length, 1);
  assert.equal(one[0]!.ok, true);
  const batch = gatewayToApp.decodeBatch(
    JSON.stringify([telemetry(1), { v: 1, type: 'nope' }, telemetry(3)]),
  );
  assert.deepEqual(
    batch.map((r) => (r.ok ? r.msg.type : r.code)),
    ['telemetry', 'unknown_type', 'telemetry'],
  );
  const broken = gatewayToApp.decodeBatch('[{"v":1');
  assert.deepEqual(
    broken.map((r) => !r.ok && r.code),
    ['bad_json'],
  );
});

test('values nested deeper than MAX_JSON_DEPTH are refused by both protocols as bad_message, not thrown', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  assert.equal(exceedsJsonDepth(JSON.parse(deep(MAX_JSON_DEPTH))), false);
  assert.equal(exceedsJsonDepth(JSON.parse(deep(MAX_JSON_DEPTH + 1))), true);
  assert.equal(exceedsJsonDepth({ a: [{ b: 1 }] }, 3), false);
  assert.equal(exceedsJsonDepth({ a: [{ b: {} }] }, 3), true);

  const sig = parseClientMessage(`{"type":"register","ref":"r1","meta":${deep(6000)}}`);
  assert.equal(sig.ok, false);
  if (!sig.ok) {
    assert.equal(sig.error.code, 'bad_message');
    assert.equal(sig.error.ref, 'r1');
  }
  const gw = appToGateway.decode(`{"v":1,"type":"command","id":"c","service":"s","payload":${deep(6000)}}`);
  assert.equal(gw.ok, false);
  if (!gw.ok) {
    assert.equal(gw.code, 'bad_message');
    assert.equal(gw.ref, 'c');
  }
});
