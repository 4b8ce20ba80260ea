/** Peer.send: the frames of one tick reach the socket under one cork, in order; the socket is uncorked after it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { WebSocket } from 'ws';
import { LogThrottle } from '../src/logging/log-throttle.js';
import { Peer } from '../src/ws/peer.js';

function fakeWebSocket() {
  const events: string[] = [];
  let corks = 0;
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    on: () => ws,
    send: (data: string) => events.push(`send ${data} corked=${corks}`),
    close: () => undefined,
    _socket: {
      cork: () => void corks++,
      uncork: () => {
        corks--;
        events.push(`uncork ${corks}`);
      },
    },
  };
  return { ws: ws as unknown as WebSocket, events };
}

function peer(ws: WebSocket): Peer {
  const p = new Peer('i.1', ws, '127.0.0.1', {
    limits: {
      messagesPerSecond: 10,
      burst: 10,
      floodCloseAfter: 10,
      maxMessageBytes: 1024,
      authTimeoutMs: 60_000,
    },
    metrics: { errors: { inc: () => undefined }, messages: { inc: () => undefined } } as never,
    log: pino({ level: 'silent' }),
    unavailableLog: new LogThrottle(1000),
    dispatch: async () => undefined,
    closed: () => undefined,
  });
  return p;
}

test('sends within one tick are written corked and in order, then uncorked once; the next tick corks anew', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the auth timer never fires nor holds the process
  const { ws, events } = fakeWebSocket();
  const p = peer(ws);
  p.send({ type: 'pong', serverTime: 1 });
  p.send({ type: 'pong', serverTime: 2 });
  p.send({ type: 'pong', serverTime: 3 });
  assert.deepEqual(events, [
    'send {"type":"pong","serverTime":1} corked=1',
    'send {"type":"pong","serverTime":2} corked=1',
    'send {"type":"pong","serverTime":3} corked=1',
  ]);
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(events.slice(3), ['uncork 0']);
  p.send({ type: 'pong', serverTime: 4 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.slice(4), ['send {"type":"pong","serverTime":4} corked=1', 'uncork 0']);
  p.close(1000, 'done');
});

test('a WebSocket without a socket that can be corked still gets its messages', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { ws, events } = fakeWebSocket();
  (ws as unknown as { _socket: unknown })._socket = null;
  const p = peer(ws);
  p.send({ type: 'pong', serverTime: 1 });
  assert.deepEqual(events, ['send {"type":"pong","serverTime":1} corked=0']);
  p.close(1000, 'done');
});
