/**
 * The rendered turnserver.conf boots the real coturn (apt 4.6.1) on loopback, with the shared secret put in by the
 * very config script the EC2 instances run at coturn start (renderTurnConfigScript; `aws` replaced by a stub that
 * answers get-secret-value). A hand-written TURN client then allocates with REST credentials minted by the
 * signaling service's own credential code.
 *
 * Loopback: a shipped config denies 127.0.0.0/8 like every other special range. Here, and only here, the renderer's
 * `testOnlyAllowLoopbackPeers` drops 127.0.0.0/8 (and ::1) from the denied list and adds `allow-loopback-peers`, so
 * the relay can reach the echo peer on 127.0.0.1; every other denied range stays. The last suite boots the config
 * as shipped and checks that 127.0.0.1 is then refused too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turnRestCredential } from '@robostream/signaling/turn-credentials';
import {
  renderTurnServerConf,
  TURN_DEFAULTS,
  type TurnServerConfOptions,
} from '../src/coturn/turnserver-conf.js';
import {
  DEFAULT_COTURN_IMAGE,
  renderTurnConfigScript,
  renderTurnUserData,
  TURN_PATHS,
} from '../src/coturn/boot-files.js';
import {
  freeListeningPort,
  freeRelayRange,
  startCoturn,
  type RunningCoturn,
} from './support/coturn-process.js';
import { TurnClient, TurnError } from './support/turn-client.js';
import type { Address } from './support/stun-message.js';

const REALM = 'turn.robostream.test';
const CURRENT_SECRET = 'current-Secret-0123456789abcdefABCDEF';
const PREVIOUS_SECRET = 'previous-Secret-9876543210fedcbaFEDCBA';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-test-1:123456789012:secret:robostream/turn-AbCdEf';
const ALLOWED_CIDR = '10.9.0.0/16'; // inside 10.0.0.0/8: allowed-peer-ip must win over denied-peer-ip
const VPC_CIDR = '11.0.0.0/16'; // stands in for a VPC range that is not private space (BYOIP)

const STUB_AWS = `#!/bin/bash
# Stub of the AWS CLI: answers secretsmanager get-secret-value from STUB_* variables and logs its arguments.
echo "$*" >>"$STUB_AWS_LOG"
stage=""
while [ $# -gt 0 ]; do case "$1" in --version-stage) stage="$2"; shift ;; esac; shift; done
case "$stage" in
  AWSCURRENT) printf '%s\\n' "$STUB_CURRENT" ;;
  AWSPREVIOUS) if [ -n "\${STUB_PREVIOUS:-}" ]; then printf '%s\\n' "$STUB_PREVIOUS"; else echo 'ResourceNotFoundException' >&2; exit 254; fi ;;
  *) exit 252 ;;
esac
`;

function baseOptions(
  port: number,
  relayPorts: { min: number; max: number },
  testOnlyAllowLoopbackPeers: boolean,
): TurnServerConfOptions {
  return {
    realm: REALM,
    listeningPort: port,
    listeningIps: ['127.0.0.1'],
    relayIps: ['127.0.0.1'],
    relayPorts,
    extraDeniedPeerRanges: [{ cidr: VPC_CIDR, kind: 'vpc', why: 'the VPC itself' }],
    allowedPeerRanges: testOnlyAllowLoopbackPeers
      ? [{ cidr: ALLOWED_CIDR, why: 'a local-development exception' }]
      : [],
    quotas: TURN_DEFAULTS.quotas,
    staleNonceSec: TURN_DEFAULTS.staleNonceSec,
    authSecret: { source: 'appended-at-start', note: 'the loopback test runs robostream-turn-config' },
    logFile: 'stdout',
    testOnlyAllowLoopbackPeers,
  };
}

interface Booted {
  dir: string;
  coturn: RunningCoturn;
  server: Address;
  confText: string;
  confMode: number;
  awsCalls: string;
}

/** Renders the base config, runs the config script against the stub, boots coturn on the result. */
async function boot(testOnlyAllowLoopbackPeers: boolean, previous?: string): Promise<Booted> {
  const dir = mkdtempSync(join(tmpdir(), 'robostream-coturn-'));
  const port = await freeListeningPort();
  const relayPorts = await freeRelayRange(16);
  writeFileSync(
    join(dir, 'base.conf'),
    renderTurnServerConf(baseOptions(port, relayPorts, testOnlyAllowLoopbackPeers)),
  );
  writeFileSync(join(dir, 'aws'), STUB_AWS);
  chmodSync(join(dir, 'aws'), 0o755);
  writeFileSync(
    join(dir, 'config-script.sh'),
    renderTurnConfigScript({ region: 'eu-test-1', authSecretId: SECRET_ARN }),
  );
  const conf = join(dir, 'turnserver.conf');
  const r = spawnSync('bash', [join(dir, 'config-script.sh')], {
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      STUB_AWS_LOG: join(dir, 'aws.log'),
      STUB_CURRENT: CURRENT_SECRET,
      STUB_PREVIOUS: previous ?? '',
      ROBOSTREAM_TURN_BASE_CONF: join(dir, 'base.conf'),
      ROBOSTREAM_TURN_CONF: conf,
      ROBOSTREAM_TURN_GROUP: String(process.getgid?.() ?? 0),
    },
  });
  assert.equal(r.status, 0, `config script failed: ${r.stderr}`);
  const coturn = await startCoturn(conf, port, dir);
  return {
    dir,
    coturn,
    server: { address: '127.0.0.1', port },
    confText: readFileSync(conf, 'utf8'),
    confMode: statSync(conf).mode & 0o777,
    awsCalls: readFileSync(join(dir, 'aws.log'), 'utf8'),
  };
}

async function udpEchoPeer(): Promise<{ socket: Socket; address: Address }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) =>
    socket.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address),
  );
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, address: { address: '127.0.0.1', port: socket.address().port } };
}

async function refusal(p: Promise<unknown>): Promise<TurnError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TurnError) return e;
    throw e;
  }
  assert.fail('the server accepted a request it should have refused');
}

describe('coturn booted from the rendered config (loopback peers allowed for this test only)', () => {
  let b: Booted;
  let peer: { socket: Socket; address: Address };
  const clients: TurnClient[] = [];
  const client = async (username: string, password: string) => {
    const c = await TurnClient.open(b.server, username, password);
    clients.push(c);
    return c;
  };

  before(async () => {
    b = await boot(true, PREVIOUS_SECRET);
    peer = await udpEchoPeer();
  });
  after(async () => {
    clients.forEach((c) => c.close());
    peer?.socket.close();
    await b?.coturn.stop();
    if (b) rmSync(b.dir, { recursive: true, force: true });
  });

  it('the config script wrote both secrets after the base config, readable by owner and group only', () => {
    assert.ok(b.confText.startsWith('# turnserver.conf rendered by @robostream/infra'));
    assert.ok(
      b.confText.endsWith(`static-auth-secret=${CURRENT_SECRET}\nstatic-auth-secret=${PREVIOUS_SECRET}\n`),
    );
    assert.equal(b.confMode, 0o640);
    assert.match(
      b.awsCalls,
      /--region eu-test-1 --secret-id \S+secret:robostream\/turn-AbCdEf --version-stage AWSCURRENT/,
    );
  });

  it('allocates with a REST credential from the signaling service and relays to an allowed peer', async () => {
    const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600);
    const c = await client(cred.username, cred.credential);
    const relayed = await c.allocate();
    assert.equal(relayed.address, '127.0.0.1');
    await c.createPermission(peer.address);
    const arrived = c.nextData();
    c.send(peer.address, Buffer.from('hello through the relay'));
    const back = await arrived;
    assert.deepEqual(back.peer, peer.address);
    assert.equal(back.data.toString(), 'echo:hello through the relay');
    await c.release();
  });

  it('accepts a credential made with the previous secret (rotation overlap)', async () => {
    const cred = turnRestCredential(PREVIOUS_SECRET, 'app-1', 600);
    const c = await client(cred.username, cred.credential);
    await c.allocate();
    await c.release();
  });

  it('refuses an expired credential with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600, now - 3600); // expired 50 minutes ago
    const c = await client(cred.username, cred.credential);
    const e = await refusal(c.allocate());
    assert.equal(e.code, 401);
  });

  it('refuses a wrong password with 401', async () => {
    const cred = turnRestCredential('some-other-secret', 'robot-1', 600);
    const c = await client(cred.username, cred.credential);
    const e = await refusal(c.allocate());
    assert.equal(e.code, 401);
  });

  const denied: [string, string][] = [
    ['169.254.169.254', 'EC2 instance metadata'],
    ['10.1.2.3', 'RFC 1918'],
    ['172.20.0.1', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['224.0.0.251', 'multicast'],
    ['11.0.3.4', 'the VPC range'],
  ];
  for (const [address, what] of denied) {
    it(`refuses a relay to ${address} (${what}) with 403`, async () => {
      const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600);
      const c = await client(cred.username, cred.credential);
      await c.allocate();
      const e = await refusal(c.createPermission({ address, port: 9 }));
      assert.equal(e.code, 403);
      await c.release();
    });
  }

  it('permits a peer in an allowed-peer-ip exception inside a denied range', async () => {
    const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600);
    const c = await client(cred.username, cred.credential);
    await c.allocate();
    await c.createPermission({ address: '10.9.1.1', port: 9 });
    await c.release();
  });

  it('permits a public peer just outside the VPC range', async () => {
    const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600);
    const c = await client(cred.username, cred.credential);
    await c.allocate();
    await c.createPermission({ address: '11.1.0.5', port: 9 });
    await c.release();
  });
});

/** The STUN probe script exactly as the user data writes it, run with the stub `aws`: the value it reported. */
function runProbe(dir: string, port: number): { status: number | null; reported: string } {
  const userData = renderTurnUserData({
    baseConf: '# base\n',
    configScript: '#!/bin/bash\n',
    coturnImage: DEFAULT_COTURN_IMAGE,
    listeningPort: port,
    tls: false,
    region: 'eu-test-1',
    serverName: 'turn-0',
  });
  const start = userData.indexOf(`cat >${TURN_PATHS.probeScript} <<'ROBOSTREAM_END_OF_FILE'\n`);
  const body = userData.slice(
    userData.indexOf('\n', start) + 1,
    userData.indexOf('\nROBOSTREAM_END_OF_FILE', start),
  );
  writeFileSync(join(dir, 'probe.sh'), `${body}\n`);
  writeFileSync(join(dir, 'aws.log'), '');
  const r = spawnSync('bash', [join(dir, 'probe.sh')], {
    encoding: 'utf8',
    env: { PATH: `${dir}:${process.env.PATH ?? ''}`, STUB_AWS_LOG: join(dir, 'aws.log'), STUB_CURRENT: 'x' },
  });
  return { status: r.status, reported: readFileSync(join(dir, 'aws.log'), 'utf8') };
}

describe('the EC2 STUN probe against the real coturn', () => {
  let b: Booted;
  before(async () => {
    b = await boot(false);
  });
  after(async () => {
    await b?.coturn.stop();
    if (b) rmSync(b.dir, { recursive: true, force: true });
  });

  it('reports 1 while coturn answers and 0 once it is gone (the alarm then fires)', async () => {
    const up = runProbe(b.dir, b.server.port);
    assert.equal(up.status, 0);
    assert.match(
      up.reported,
      /cloudwatch put-metric-data .*--metric-name StunProbeOk --dimensions TurnServer=turn-0 --value 1$/m,
    );
    await b.coturn.stop();
    const down = runProbe(b.dir, b.server.port);
    assert.notEqual(down.status, 0);
    assert.match(down.reported, /--value 0$/m);
  });
});

describe('coturn booted from the config as shipped (no loopback exception)', () => {
  let b: Booted;
  let c: TurnClient;
  before(async () => {
    b = await boot(false);
  });
  after(async () => {
    c?.close();
    await b?.coturn.stop();
    if (b) rmSync(b.dir, { recursive: true, force: true });
  });

  it('has no previous secret line when Secrets Manager has no AWSPREVIOUS', () => {
    assert.equal(b.confText.match(/^static-auth-secret=/gm)?.length, 1);
    assert.doesNotMatch(b.confText, /allow-loopback-peers/);
  });

  it('refuses a relay to loopback with 403', async () => {
    const cred = turnRestCredential(CURRENT_SECRET, 'robot-1', 600);
    c = await TurnClient.open(b.server, cred.username, cred.credential);
    await c.allocate();
    const e = await refusal(c.createPermission({ address: '127.0.0.1', port: 9 }));
    assert.equal(e.code, 403);
    await c.release();
  });
});
