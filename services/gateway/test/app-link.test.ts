/**
 * The AppLink seam the data-channel transport plugs into: a two-class in-process link attached with claims that
 * another transport already verified (as the signaling path will), next to a real service over websockets.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v, gatewayToApp, type GatewayToApp } from '@robostream/protocol/gateway';
import type { AppLink, DeliveryClass } from '../src/index.js';
import { startTestGateway, ServiceProbe, until, type TestGateway } from './helpers.js';

class PairLink implements AppLink {
  readonly transport = 'datachannel' as const;
  readonly remote = 'test-session';
  readonly got: Array<{ msg: GatewayToApp; cls: DeliveryClass }> = [];
  closed: { code: number; reason: string } | null = null;
  private onMsg: ((f: string, cls: DeliveryClass) => void) | null = null;
  private onClosed: ((r: string) => void) | null = null;
  send(frame: string, cls: DeliveryClass): void {
    const r = gatewayToApp.decode(frame);
    if (!r.ok) throw new Error(r.message);
    this.got.push({ msg: r.msg, cls });
  }
  bufferedAmount(): number {
    return 0;
  }
  onMessage(h: (f: string, cls: DeliveryClass) => void): void {
    this.onMsg = h;
  }
  onDrain(): void {}
  onClose(h: (r: string) => void): void {
    this.onClosed = h;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.onClosed?.(reason);
  }
  inject(x: unknown, cls: DeliveryClass = 'reliable'): void {
    this.onMsg?.(JSON.stringify(x), cls);
  }
}

let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(() => t.close());

test('a pre-authenticated link on another transport: telemetry on the lossy class, commands and replies reliable', async () => {
  const svc = await ServiceProbe.start(t.gw.localUrl, 'policy');
  svc.client.onCommand(() => 'started');
  const link = new PairLink();
  const id = t.gw.attachLink(link, { role: 'app', sub: 'webrtc-user', grants: { r1: ['drive'] }, exp: 0 });
  const welcome = await until(() => link.got.find((g) => g.msg.type === 'welcome'), 'welcome');
  assert.equal(welcome.msg.type === 'welcome' && welcome.msg.link, id);
  link.inject({ v, type: 'lock.take' });
  link.inject({ v, type: 'command', id: 'go', service: 'policy', payload: {} });
  const reply = await until(() => link.got.find((g) => g.msg.type === 'reply'), 'reply');
  assert.equal(reply.cls, 'reliable');
  svc.client.telemetry({ step: 1 });
  const tel = await until(() => link.got.find((g) => g.msg.type === 'telemetry'), 'telemetry');
  assert.equal(tel.cls, 'lossy');
  assert.equal(t.gw.stats().links, 1);
  link.close(1000, 'bye');
  assert.equal(t.gw.stats().links, 0);
  assert.equal(t.gw.stats().lock, null);
  svc.close();
});

test('claims that do not grant this robot are refused with forbidden', () => {
  const link = new PairLink();
  t.gw.attachLink(link, { role: 'app', sub: 'other', grants: { r9: ['supervise'] }, exp: 0 });
  assert.equal(link.got[0]?.msg.type === 'error' && link.got[0].msg.code, 'forbidden');
  assert.equal(link.closed?.code, 4403);
});
