/** Bad input gets a typed error; the connection and every other session keep working. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERROR_CODES } from '@robostream/protocol';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();

/** A robot and an app with an open session, to prove that other sessions are untouched. */
async function openPair(s: RunningSignaling, robotId: string) {
  const robot = await RawSocket.open(s.url);
  await robot.authenticate(await keys.robot(robotId));
  robot.send({ type: 'register', endpoint: 'media' });
  await robot.next('registered');
  const app = await RawSocket.open(s.url);
  await app.authenticate(await keys.app(`op-${robotId}`, [robotId]));
  app.send({ type: 'session_open', robotId, endpoint: 'media' });
  const { sessionId } = await robot.next('session_request');
  robot.send({ type: 'session_accept', sessionId });
  await app.next('session_accepted');
  return {
    robot,
    app,
    sessionId,
    async stillWorks(tag: string) {
      app.send({ type: 'offer', sessionId, sdp: `v=0 ${tag}` });
      assert.equal((await robot.next('offer', (m) => m.sdp === `v=0 ${tag}`)).sessionId, sessionId);
    },
    close() {
      robot.close();
      app.close();
    },
  };
}

async function pingPong(ws: RawSocket, ref: string): Promise<void> {
  ws.send({ type: 'ping', ref });
  await ws.next('pong', (m) => m.ref === ref);
}

describe('bad input', () => {
  let s: RunningSignaling;
  before(async () => {
    s = await startSignaling(keys, {
      MAX_MESSAGE_BYTES: '4096',
      MAX_FRAME_BYTES: '65536',
      RATE_MESSAGES_PER_SEC: '20',
      RATE_BURST: '40',
      FLOOD_CLOSE_AFTER: '60',
    });
  });
  after(() => s.stop());

  test('malformed frames get typed errors and the connection stays usable', async () => {
    const bystanders = await openPair(s, 'bystander-1');
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(await keys.app('op', '*'));
    const cases: Array<[string | Buffer, string, string?]> = [
      ['{not json', 'bad_json'],
      ['[1,2,3]', 'bad_message'],
      ['"just a string"', 'bad_message'],
      ['null', 'bad_message'],
      ['{"ref":"t1"}', 'bad_message', 't1'],
      ['{"type":42,"ref":"t2"}', 'bad_message', 't2'],
      ['{"type":"teleport","ref":"t3"}', 'unknown_type', 't3'],
      ['{"type":"session_open","ref":"t4","robotId":17,"endpoint":"media"}', 'bad_message', 't4'],
      ['{"type":"session_open","ref":"t5","robotId":"../../etc","endpoint":"media"}', 'bad_message', 't5'],
      ['{"type":"candidate","ref":"t6","sessionId":"abc","candidate":"not an object"}', 'bad_message', 't6'],
      ['{"type":"offer","ref":"t7","sessionId":"abc"}', 'bad_message', 't7'],
      ['{"type":"ping","ref":"t8","extra":true}', 'bad_message', 't8'],
      [Buffer.from([0, 1, 2, 3]), 'bad_message'],
      // An opening offer is an SDP string like any offer.
      [
        '{"type":"session_open","ref":"t10","robotId":"r1","endpoint":"media","offer":42}',
        'bad_message',
        't10',
      ],
      [
        '{"type":"session_open","ref":"t11","robotId":"r1","endpoint":"media","offer":""}',
        'bad_message',
        't11',
      ],
    ];
    for (const [frame, code, ref] of cases) {
      ws.sendRaw(frame);
      const err = await ws.next('error');
      assert.equal(err.code, code, `frame ${String(frame)}`);
      if (ref) assert.equal(err.ref, ref);
      assert.ok(err.message.length > 0);
    }
    const wrongType = await (async () => {
      ws.sendRaw('{"type":"session_open","ref":"t9","robotId":17,"endpoint":"media"}');
      return ws.next('error');
    })();
    assert.match(wrongType.message, /robotId/, 'the error names the offending field');
    await pingPong(ws, 'alive');
    await bystanders.stillWorks('after-malformed');
    ws.close();
    bystanders.close();
  });

  test('a message over the size limit gets frame_too_large; a frame over the hard cap closes only that socket', async () => {
    const bystanders = await openPair(s, 'bystander-2');
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(await keys.app('op', '*'));
    ws.send({ type: 'ping', ref: 'big', t: 1, pad: 'x'.repeat(5000) });
    assert.equal((await ws.next('error')).code, 'frame_too_large');
    await pingPong(ws, 'after-big');
    ws.sendRaw('x'.repeat(70_000));
    assert.equal((await ws.waitClosed()).code, 1009);
    await bystanders.stillWorks('after-oversize');
    bystanders.close();
  });

  test('a flood is rate limited, then closed with 4429; other sessions are unaffected', async () => {
    const bystanders = await openPair(s, 'bystander-3');
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(await keys.app('flooder', '*'));
    for (let i = 0; i < 200; i++) ws.send({ type: 'ping', ref: `f${i}` });
    const err = await ws.next('error', (m) => m.code === 'rate_limited');
    assert.match(err.message, /messages\/s/);
    assert.equal((await ws.waitClosed()).code, 4429);
    const pongs = ws.received.filter((m) => m.type === 'pong').length;
    assert.ok(pongs >= 30 && pongs <= 60, `the burst was served (${pongs} pongs), the rest refused`);
    await bystanders.stillWorks('after-flood');
    bystanders.close();
  });

  test('property: any generated frame gets a valid answer or none, never a crash or an internal error', async () => {
    // Its own server without a rate limit, so that every generated frame is parsed and handled.
    const s2 = await startSignaling(keys, {
      MAX_MESSAGE_BYTES: '4096',
      RATE_MESSAGES_PER_SEC: '100000',
      RATE_BURST: '100000',
    });
    const bystanders = await openPair(s2, 'bystander-4');
    const ws = await RawSocket.open(s2.url);
    await ws.authenticate(await keys.app('fuzzer', '*'));
    const types = [
      'authenticate',
      'register',
      'unregister',
      'list_robots',
      'subscribe_presence',
      'session_open',
      'session_accept',
      'session_reject',
      'offer',
      'answer',
      'candidate',
      'end_of_candidates',
      'ice_restart',
      'session_close',
      'ping',
      'refresh_ice_servers',
      'nope',
    ];
    const messageLike = fc.record(
      {
        type: fc.constantFrom(...types),
        ref: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
        sessionId: fc.oneof(fc.string({ maxLength: 70 }), fc.constant('abc')),
        robotId: fc.oneof(fc.string(), fc.constant('bystander-4')),
        endpoint: fc.oneof(fc.string(), fc.constant('media')),
        sdp: fc.oneof(fc.string(), fc.integer()),
        candidate: fc.oneof(
          fc.jsonValue(),
          fc.record({ candidate: fc.string(), sdpMLineIndex: fc.oneof(fc.integer(), fc.constant(null)) }),
        ),
        token: fc.string(),
        reason: fc.string(),
        meta: fc.jsonValue(),
      },
      { requiredKeys: ['type'] },
    );
    const frames = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      messageLike.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        ws.sendRaw(frame);
        await pingPong(ws, `p${n++}`);
        // RawSocket rejects any frame that does not validate against the server schemas.
        const internal = ws.received.filter(
          (m) => m.type === 'error' && (m.code === 'internal' || !ERROR_CODES.includes(m.code)),
        );
        assert.equal(internal.length, 0, JSON.stringify(internal));
        ws.received.length = 0;
      }),
      { numRuns: 400 },
    );
    assert.equal(ws.closed, undefined, 'the fuzzed connection is still open');
    await bystanders.stillWorks('after-fuzz');
    ws.close();
    bystanders.close();
    await s2.stop();
  });
});
