/** WHEP relay at the HTTP level, with a robot speaking the real protocol (the browser test is the streamer's). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

describe('WHEP endpoint', () => {
  let s: RunningSignaling;
  let robot: RawSocket;
  before(async () => {
    s = await startSignaling(keys);
    robot = await RawSocket.open(s.url);
    await robot.authenticate(await keys.robot('cam-1'));
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
  });
  after(async () => {
    robot.close();
    await s.stop();
  });

  const post = async (robotId: string, token: string | undefined, body = OFFER, type = 'application/sdp') =>
    fetch(`${s.httpUrl}/v1/robots/${robotId}/whep`, {
      method: 'POST',
      headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  test('POST relays the offer as a whep session and returns the robot answer; DELETE ends it', async () => {
    const token = await keys.app('viewer', ['cam-1']);
    const res = post('cam-1', token);
    const req = await robot.next('session_request');
    assert.deepEqual(req.meta, { whep: true });
    assert.equal(req.app.subject, 'viewer');
    robot.send({ type: 'session_accept', sessionId: req.sessionId });
    const offer = await robot.next('offer');
    assert.equal(offer.sdp, OFFER);
    robot.send({ type: 'answer', sessionId: req.sessionId, sdp: 'v=0 answer with candidates' });
    const r = await res;
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('content-type'), 'application/sdp');
    const location = r.headers.get('location')!;
    assert.equal(location, `/v1/robots/cam-1/whep/${req.sessionId}`);
    assert.equal(await r.text(), 'v=0 answer with candidates');

    // Trickle (RFC 9725 section 4.3) and ICE restarts are refused with 405, whatever the body.
    for (const type of ['application/trickle-ice-sdpfrag', 'text/plain', 'application/x-unknown']) {
      const patch = await fetch(`${s.httpUrl}${location}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': type, 'if-match': '*' },
        body: 'a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n',
      });
      assert.equal(patch.status, 405, type);
      assert.equal(patch.headers.get('allow'), 'POST, DELETE');
    }
    const other = await keys.app('someone-else', ['cam-1']);
    assert.equal(
      (
        await fetch(`${s.httpUrl}${location}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${other}` },
        })
      ).status,
      404,
    );
    assert.equal(
      (
        await fetch(`${s.httpUrl}${location}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
      200,
    );
    const closed = await robot.next('session_closed');
    assert.deepEqual([closed.sessionId, closed.by], [req.sessionId, 'peer']);
  });

  test('refusals are typed HTTP errors', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('cam-1', undefined), 401, 'token_invalid'],
      [
        post('cam-1', await keys.app('v', ['cam-1'], 60, Math.floor(Date.now() / 1000) - 600)),
        401,
        'token_expired',
      ],
      [post('cam-1', await keys.robot('cam-1')), 403, 'wrong_role'],
      [post('cam-1', await keys.app('v', ['other'])), 403, 'forbidden'],
      [post('nobody', await keys.app('v', '*')), 404, 'robot_offline'],
      [post('cam-1', await keys.app('v', '*'), '{"sdp":1}', 'application/json'), 415, 'bad_content_type'],
    ];
    for (const [res, status, code] of cases) {
      const r = await res;
      assert.equal(r.status, status, code);
      assert.equal(((await r.json()) as { code: string }).code, code);
    }
  });

  test('a robot that rejects gives 409, and the session is gone', async () => {
    const res = post('cam-1', await keys.app('viewer2', '*'));
    const req = await robot.next('session_request');
    robot.send({ type: 'session_reject', sessionId: req.sessionId, reason: 'too many viewers' });
    const r = await res;
    assert.equal(r.status, 409);
    assert.match(((await r.json()) as { message: string }).message, /too many viewers/);
  });

  test('a robot that ends the session before answering gives 409 with its reason (an offer it cannot answer)', async () => {
    const res = post('cam-1', await keys.app('viewer3', '*'));
    const req = await robot.next('session_request');
    robot.send({ type: 'session_accept', sessionId: req.sessionId });
    await robot.next('offer');
    robot.send({
      type: 'session_close',
      sessionId: req.sessionId,
      reason: 'cannot answer: media section 2 (video) has no a=mid',
    });
    const r = await res;
    assert.equal(r.status, 409);
    const body = (await r.json()) as { code: string; message: string };
    assert.equal(body.code, 'rejected');
    assert.match(body.message, /has no a=mid/);
  });
});

describe('WHEP from browser pages on other origins (CORS)', () => {
  let open: RunningSignaling;
  let listed: RunningSignaling;
  before(async () => {
    open = await startSignaling(keys);
    listed = await startSignaling(keys, { WHEP_CORS_ORIGINS: 'https://player.example, https://ops.example' });
  });
  after(async () => {
    await open.stop();
    await listed.stop();
  });

  const preflight = (base: string, path: string, origin: string) =>
    fetch(`${base}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  test('preflight allows the bearer header and the WHEP methods; responses expose Location', async () => {
    const pre = await preflight(open.httpUrl, '/v1/robots/cam-1/whep', 'https://anywhere.example');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    // A refusal still carries the headers, so the page can read the typed error.
    const r = await fetch(`${open.httpUrl}/v1/robots/nobody/whep`, {
      method: 'POST',
      headers: {
        origin: 'https://anywhere.example',
        'content-type': 'application/sdp',
        authorization: `Bearer ${await keys.app('v', '*')}`,
      },
      body: OFFER,
    });
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /location/i);
  });

  test('WHEP_CORS_ORIGINS admits the listed origins only; other routes answer no CORS at all', async () => {
    const ok = await preflight(listed.httpUrl, '/v1/robots/cam-1/whep', 'https://ops.example');
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://ops.example');
    const denied = await preflight(listed.httpUrl, '/v1/robots/cam-1/whep', 'https://evil.example');
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    const metrics = await preflight(open.httpUrl, '/metrics', 'https://anywhere.example');
    assert.equal(metrics.headers.get('access-control-allow-origin'), null);
  });
});
