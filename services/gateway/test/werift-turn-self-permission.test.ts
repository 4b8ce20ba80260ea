// A relay-only answerer lets the offerer's checks in through its TURN allocation before it knows the offerer's
// candidates (werift-turn-self-permission.ts), against a real coturn: two werift peers, both relay-only on the same
// server, and the answerer never told the offerer's candidates (the trickle that would bring them is withheld). With
// the permission the answerer learns the offerer's relayed address from its first check and the pair connects;
// without it coturn drops those checks, the answerer has nothing to check itself, and nothing connects.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RTCPeerConnection } from 'werift';
import { turnRestCredential } from '@robostream/signaling';
import { startCoturn, type Coturn } from '../../../test/support/coturn.js';
import { permitOwnRelayIp, permitOwnRelayIps } from '../src/signaling/werift-turn-self-permission.js';

describe('a TURN allocation with a permission for its own relay IP', { timeout: 60_000 }, () => {
  let turn: Coturn;
  const peers: RTCPeerConnection[] = [];

  before(async () => {
    turn = await startCoturn({ secret: randomBytes(24).toString('hex'), maxAllocateLifetimeSec: 30 });
  });
  after(async () => {
    for (const pc of peers) await pc.close().catch(() => undefined);
    await turn?.kill();
  });

  const relayOnly = (label: string): RTCPeerConnection => {
    const c = turnRestCredential(turn.secret, label, 600);
    const pc = new RTCPeerConnection({
      iceServers: [{ urls: turn.url, username: c.username, credential: c.credential }],
      iceTransportPolicy: 'relay',
    });
    peers.push(pc);
    return pc;
  };

  /** Offer without candidates, answer with them; true when the answerer's ICE connects within `waitMs`. */
  async function connectsWithoutOffererCandidates(permit: boolean, waitMs: number): Promise<boolean> {
    const offerer = relayOnly(`offerer-${permit}`);
    const answerer = relayOnly(`answerer-${permit}`);
    offerer.createDataChannel('probe');
    await offerer.setLocalDescription(await offerer.createOffer());
    const offer = offerer.localDescription!.sdp.replace(/^a=(candidate|end-of-candidates).*\r\n/gm, '');
    assert.doesNotMatch(offer, /a=candidate/);
    await answerer.setRemoteDescription({ type: 'offer', sdp: offer });
    await answerer.setLocalDescription(await answerer.createAnswer());
    if (permit) permitOwnRelayIps(answerer);
    await offerer.setRemoteDescription(answerer.localDescription!);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (answerer.iceConnectionState === 'connected' || answerer.iceConnectionState === 'completed')
        return true;
      await sleep(20);
    }
    return false;
  }

  test('lets the first checks of an offerer on the same TURN server in; without it none gets through', async () => {
    assert.equal(await connectsWithoutOffererCandidates(true, 10_000), true, 'connected with the permission');
    // The control: the same exchange without it stays unconnected (werift would retry its checks for ever).
    assert.equal(await connectsWithoutOffererCandidates(false, 3_000), false, 'not connected without it');
  });

  test('anything but a werift TURN allocation is left alone', async () => {
    assert.equal(await permitOwnRelayIp(null), false);
    assert.equal(await permitOwnRelayIp({ type: 'udp' }), false);
    assert.equal(
      await permitOwnRelayIp({ type: 'turn', turn: { relayedAddress: ['10.0.0.1', 5000] } }),
      false,
    );
    permitOwnRelayIps({ iceTransports: 'not a list' });
  });
});
