// The start-up warm-up session (transport/werift/warm-up.ts) against the real werift adapter: it connects over
// loopback and carries packets both ways; a session that never connects is given up at the timeout, not waited
// for (the robot's start-up must not hang on it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerSession } from '../src/transport/peer-session.js';
import { warmUpTransport } from '../src/transport/werift/warm-up.js';
import { createWeriftPeerSession } from '../src/transport/werift/werift-peer-session.js';

test('the warm-up session connects through the adapter and carries media', async () => {
  let session: PeerSession | null = null;
  const states: string[] = [];
  const ms = await warmUpTransport((id, options) => {
    session = createWeriftPeerSession(id, options);
    session.onConnectionState((s) => states.push(s));
    return session;
  }, 10_000);
  assert.ok(ms > 0);
  assert.ok(session, 'a session was made');
  assert.ok(states.includes('connected'), `states: ${states.join(', ')}`);
  assert.equal(states.at(-1), 'closed', 'and closed afterwards');
});

test('a warm-up that cannot connect gives up at its timeout and closes the session', async () => {
  let closed = false;
  await assert.rejects(
    warmUpTransport((id, options) => {
      const real = createWeriftPeerSession(id, options);
      // An answer that never reaches the offerer's ICE agent: its candidates are withheld, so no check succeeds.
      return new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'localDescription')
            return () => (target.localDescription() ?? '').replace(/a=candidate:.*\r\n/g, '');
          if (prop === 'close')
            return async () => {
              closed = true;
              await target.close();
            };
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    }, 1500),
    /no connection within 1500 ms/,
  );
  assert.ok(closed, 'the session was closed');
});
