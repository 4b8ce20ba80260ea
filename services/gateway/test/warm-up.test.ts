// The start-up warm-up session (signaling/warm-up.ts): a loopback data-channel session through the gateway's own
// DataChannelSession, one message each way; given up at its timeout rather than waited for (start-up must not
// hang on it). Either way nothing of it stays open: its UDP sockets are all closed afterwards.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { warmUpDataChannels } from '../src/signaling/warm-up.js';

const udpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;

async function settlesTo(count: number): Promise<number> {
  for (let i = 0; i < 100 && udpSockets() > count; i++) await sleep(50);
  return udpSockets();
}

test('the warm-up connects, carries a message each way, and closes everything', async () => {
  const before = udpSockets();
  const ms = await warmUpDataChannels(10_000);
  assert.ok(ms > 0);
  assert.equal(await settlesTo(before), before, 'no UDP socket of the warm-up is left open');
});

test('a warm-up that cannot finish in time is given up at its timeout and closed', async () => {
  const before = udpSockets();
  await assert.rejects(warmUpDataChannels(1), /no data channel within 1 ms/);
  assert.equal(await settlesTo(before), before, 'no UDP socket of the warm-up is left open');
});
