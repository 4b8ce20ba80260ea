// compose.yaml's coturn, started by compose as a developer starts it, on a network pinned to a subnet of the test's
// choosing (ROBOSTREAM_SUBNET): a TURN client on the host allocates through the published port and asks for
// permissions. Peers on the stack network are allowed; every other private address (a developer's LAN in
// 192.168.0.0/16, Docker's default bridge and the host, the next subnet over) is refused by coturn itself.
// CreatePermission sends nothing to the peer: no packet leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { turnRestCredential } from '@robostream/signaling/turn-credentials';
import { TurnClient, TurnError } from '../../infra/test/support/turn-client.js';
import { ComposeStack } from './support/compose.js';
import { containerIp, docker, freePort } from './support/docker-cli.js';

/** A /24 in 10.213.0.0/16 that no Docker network on this machine overlaps (the engine is shared). */
async function freeSubnet(): Promise<string> {
  const { stdout } = await docker(['network', 'ls', '-q']);
  const ids = stdout.split('\n').filter(Boolean);
  const inspected = ids.length
    ? (await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids])).stdout
    : '';
  const taken = inspected.split(/\s+/).filter((s) => s.startsWith('10.213.') || s.startsWith('10.0.0.0/8'));
  for (let i = 0; i < 50; i++) {
    const candidate = `10.213.${1 + Math.floor(Math.random() * 250)}.0/24`;
    if (!taken.includes(candidate)) return candidate;
  }
  throw new Error('no free 10.213.x.0/24 subnet');
}

describe('compose.yaml coturn: relays reach the pinned stack network only', { timeout: 300_000 }, () => {
  const project = `robostream-peers-${process.pid}`;
  const secret = randomBytes(24).toString('hex');
  let stack: ComposeStack;
  let subnet: string;
  let third: string; // "10.213.N": the subnet's first three octets
  let turnPort = 0;
  let coturnIp = '';
  const clients: TurnClient[] = [];

  async function permission(address: string): Promise<number> {
    const cred = turnRestCredential(secret, 'peers-test', 600);
    const c = await TurnClient.open({ address: '127.0.0.1', port: turnPort }, cred.username, cred.credential);
    clients.push(c);
    await c.allocate();
    try {
      await c.createPermission({ address, port: 9 });
      return 200;
    } catch (e) {
      if (e instanceof TurnError) return e.code;
      throw e;
    }
  }

  before(async () => {
    subnet = await freeSubnet();
    third = subnet.split('.').slice(0, 3).join('.');
    turnPort = await freePort();
    stack = new ComposeStack(project, {
      TURN_SECRET: secret,
      TURN_PORT: String(turnPort),
      ROBOSTREAM_SUBNET: subnet,
    });
    await stack.run(['up', '--wait', '--wait-timeout', '60', '--no-build', 'coturn']);
    coturnIp = await containerIp(await stack.containerOf('coturn'));
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await stack?.run(['down', '--volumes', '--remove-orphans', '--timeout', '5']).catch(() => undefined);
    stack?.removeEnvFile();
  });

  test('the network has the pinned subnet and coturn sits in it', () => {
    assert.ok(coturnIp.startsWith(`${third}.`), `${coturnIp} in ${subnet}`);
  });

  test('permits peers on the stack network: coturn itself (relay to relay) and another container', async () => {
    assert.equal(await permission(coturnIp), 200);
    assert.equal(await permission(`${third}.200`), 200);
  });

  const outside: [string, (third: string) => string][] = [
    ['a LAN address in 192.168.0.0/16', () => '192.168.1.10'],
    ["Docker's default bridge (the host)", () => '172.17.0.1'],
    ['another private range', () => '10.0.0.1'],
    ['the next subnet over', (t) => `${t.replace(/\.\d+$/, (m) => `.${Number(m.slice(1)) + 1}`)}.5`],
  ];
  for (const [what, address] of outside) {
    test(`refuses ${what} with 403`, async () => {
      assert.equal(await permission(address(third)), 403);
    });
  }
});
