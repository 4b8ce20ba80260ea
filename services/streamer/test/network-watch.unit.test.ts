// The hand-over pieces without a network: which interface changes count (removals, per interface), and the STUN
// nudge on a connection shaped like werift 0.24.4's (and nothing on a peer connection with no selected pair).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { RTCPeerConnection } from 'werift';
import { NetworkWatch, localAddresses, type InterfaceReader } from '../src/transport/network-watch.js';
import { nudgeIce } from '../src/transport/werift/ice-nudge.js';
import { raisePairRtt } from '../src/transport/werift/pair-rtt.js';

const iface = (address: string, internal = false): NetworkInterfaceInfo =>
  ({
    address,
    internal,
    family: 'IPv4',
    netmask: '255.255.255.0',
    mac: '00:00:00:00:00:00',
    cidr: null,
  }) as NetworkInterfaceInfo;

test('only removed addresses are reported; loopback and new addresses are not', () => {
  let table: ReturnType<InterfaceReader> = { lo: [iface('127.0.0.1', true)], wlan0: [iface('192.168.1.20')] };
  const read = (() => table) as InterfaceReader;
  assert.deepEqual([...localAddresses(read)], ['192.168.1.20%wlan0']);
  const reports: string[][] = [];
  const watch = new NetworkWatch((removed) => reports.push(removed), read);
  watch.check();
  assert.deepEqual(reports, []);
  table = { ...table, wwan0: [iface('10.64.3.7')] }; // LTE comes up next to Wi-Fi
  watch.check();
  assert.deepEqual(reports, [], 'a new address breaks no path');
  table = { lo: table.lo, wwan0: table.wwan0 }; // Wi-Fi gone
  watch.check();
  assert.deepEqual(reports, [['192.168.1.20%wlan0']]);
  table = { lo: table.lo, wwan1: [iface('10.64.3.7')] }; // the same address on another interface
  watch.check();
  assert.deepEqual(reports.at(-1), ['10.64.3.7%wwan0']);
});

test('the nudge sends one authenticated binding request on the selected pair, claiming a priority above it', () => {
  const sent: { request: unknown; addr: unknown; key: string; options: unknown }[] = [];
  const built: unknown[] = [];
  const attributes: [string, unknown][] = [];
  const request = {
    binding: true,
    setAttribute: (name: string, value: unknown) => attributes.push([name, value]),
  };
  const pc = {
    iceTransports: [
      {
        connection: {
          localUsername: 'robo',
          remoteUsername: 'app',
          remotePassword: 'secret',
          iceControlling: false,
          buildRequest: (o: unknown) => (built.push(o), request),
          nominated: {
            remoteAddr: ['203.0.113.5', 50000],
            localCandidate: { transport: 'udp', priority: 2130706431 },
            protocol: {
              request: (request: unknown, addr: unknown, key: Buffer, options: unknown) => {
                sent.push({ request, addr, key: key.toString(), options });
                return Promise.resolve();
              },
            },
          },
        },
      },
    ],
  };
  assert.equal(nudgeIce(pc), true);
  assert.deepEqual(built, [
    {
      nominate: false,
      localUsername: 'robo',
      remoteUsername: 'app',
      iceControlling: false,
      localCandidate: { transport: 'udp', priority: 2130706431 },
    },
  ]);
  // Above the pair's own host candidate: the app's new (peer-reflexive) pair outranks the dead one at once.
  assert.deepEqual(attributes, [['PRIORITY', 2130706432]]);
  assert.deepEqual(sent, [
    {
      request,
      addr: ['203.0.113.5', 50000],
      key: 'secret',
      options: { retransmissions: 2 },
    },
  ]);
});

test('a real werift peer connection has the internals; before a pair is selected there is nothing to nudge', async () => {
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const connection = (pc as unknown as { iceTransports: { connection: Record<string, unknown> }[] })
      .iceTransports[0]?.connection;
    assert.ok(connection, 'werift exposes its ICE connection');
    assert.equal(typeof connection['buildRequest'], 'function');
    assert.equal(typeof connection['remotePassword'], 'string');
    // Its requests can take the nudge's PRIORITY.
    const built = (connection['buildRequest'] as (o: object) => { setAttribute?: unknown }).call(connection, {
      nominate: false,
      localUsername: 'a',
      remoteUsername: 'b',
      iceControlling: false,
      localCandidate: { transport: 'udp' },
    });
    assert.equal(typeof built.setAttribute, 'function');
    assert.equal(nudgeIce(pc), false, 'no selected pair yet');
  } finally {
    await pc.close();
  }
});

test("the selected pair's round trip is raised to what RTCP measured, never lowered (werift lowers it itself)", () => {
  const nominated: { rtt?: number; remoteAddr: unknown; localCandidate: unknown; protocol: unknown } = {
    rtt: 0.002,
    remoteAddr: ['203.0.113.5', 50000],
    localCandidate: {},
    protocol: { request: () => Promise.resolve() },
  };
  const connection = {
    localUsername: 'robo',
    remoteUsername: 'app',
    remotePassword: 'secret',
    iceControlling: false,
    buildRequest: () => ({}),
    nominated: undefined as typeof nominated | undefined,
  };
  const pc = { iceTransports: [{ connection }] };
  assert.equal(raisePairRtt(pc, 0.6), false, 'no pair selected yet');
  connection.nominated = nominated;
  assert.equal(raisePairRtt(pc, 0.6), true);
  assert.equal(nominated.rtt, 0.6);
  raisePairRtt(pc, 0.3);
  assert.equal(nominated.rtt, 0.6);
  raisePairRtt(pc, Number.NaN);
  assert.equal(nominated.rtt, 0.6);
  assert.equal(raisePairRtt({}, 1), false, 'not a werift peer connection');
});
