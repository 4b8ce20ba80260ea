/**
 * The shipped quotas (TURN_DEFAULTS.quotas) on the real coturn, loopback only. coturn counts `user-quota` per
 * subject: the name after the expiry in a TURN REST username "<expiry>:<subject>", whatever the expiry, so every
 * credential the signaling service ever minted for one robot or app shares one budget. That budget must carry one
 * subject's legitimate peak (an operator watching several robots, a robot with several viewers: each
 * RTCPeerConnection allocates once per TURN URL and local network) and must still stop one subject, or one leaked
 * credential, well short of the whole server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turnRestCredential } from '@robostream/signaling/turn-credentials';
import { renderTurnServerConf, TURN_DEFAULTS } from '../src/coturn/turnserver-conf.js';
import {
  freeListeningPort,
  freeRelayRange,
  startCoturn,
  type RunningCoturn,
} from './support/coturn-process.js';
import { TurnClient, TurnError } from './support/turn-client.js';
import type { Address } from './support/stun-message.js';

const SECRET = 'quota-Secret-0123456789abcdefABCDEF';
const { userQuota, totalQuota } = TURN_DEFAULTS.quotas;
/** What one subject must be able to hold at once (issue 16: "fewer than 7 concurrent clients" was the bug). */
const SUBJECT_PEAK = 16;

describe('coturn quotas as shipped (real turnserver on loopback)', () => {
  let dir: string;
  let coturn: RunningCoturn;
  let server: Address;
  const clients: TurnClient[] = [];

  async function allocation(subject: string, ttlSec = 600): Promise<TurnClient> {
    const cred = turnRestCredential(SECRET, subject, ttlSec);
    const c = await TurnClient.open(server, cred.username, cred.credential);
    clients.push(c);
    await c.allocate();
    return c;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'robostream-coturn-quota-'));
    const port = await freeListeningPort();
    // Room for one subject's whole quota, the peak test and a bystander: a quota test must not hit the port range.
    const relayPorts = await freeRelayRange(userQuota + SUBJECT_PEAK + 8);
    const conf = join(dir, 'turnserver.conf');
    writeFileSync(
      conf,
      renderTurnServerConf({
        realm: 'turn.robostream.test',
        listeningPort: port,
        listeningIps: ['127.0.0.1'],
        relayIps: ['127.0.0.1'],
        relayPorts,
        quotas: TURN_DEFAULTS.quotas,
        staleNonceSec: TURN_DEFAULTS.staleNonceSec,
        authSecret: { source: 'inline', secrets: [SECRET] },
        logFile: 'stdout',
      }),
    );
    coturn = await startCoturn(conf, port, dir);
    server = { address: '127.0.0.1', port };
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await coturn?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`lets one subject hold ${SUBJECT_PEAK} allocations at once, over credentials of different expiry`, async () => {
    const held: TurnClient[] = [];
    for (let i = 0; i < SUBJECT_PEAK; i++) {
      // Each signaling connection (welcome, refresh_ice_servers) mints its own expiry: still one subject.
      held.push(await allocation('operator-1', 600 + i));
    }
    assert.equal(held.length, SUBJECT_PEAK);
    for (const c of held) await c.release();
  });

  it('stops one credential at user-quota, well short of total-quota, and the server still serves others', async () => {
    assert.ok(userQuota > 0, 'a per-subject quota is set');
    assert.ok(userQuota * 10 <= totalQuota, 'one subject takes at most a tenth of a server');
    const cred = turnRestCredential(SECRET, 'leaked-robot', 600);
    let granted = 0;
    let refusal: TurnError | undefined;
    for (let i = 0; i <= userQuota; i++) {
      const c = await TurnClient.open(server, cred.username, cred.credential);
      clients.push(c);
      try {
        await c.allocate();
        granted++;
      } catch (e) {
        if (!(e instanceof TurnError)) throw e;
        refusal = e;
        break;
      }
    }
    assert.equal(granted, userQuota);
    assert.equal(refusal?.code, 486, 'Allocation Quota Reached');
    // Another subject is not affected by the exhausted one.
    const bystander = await allocation('robot-2');
    await bystander.release();
  });
});
