import { RTCPeerConnection } from 'werift';
const a = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
const b = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
a.onIceCandidate.subscribe((c) => c && void b.addIceCandidate(c.toJSON()));
b.onIceCandidate.subscribe((c) => c && void a.addIceCandidate(c.toJSON()));
const dc = a.createDataChannel('x', {
  ordered: process.argv[2] !== 'lossy',
  ...(process.argv[2] === 'lossy' ? { maxRetransmits: 0 } : {}),
});
let got = 0;
let t0 = 0;
const N = Number(process.argv[3] ?? 5000);
b.onDataChannel.subscribe((rdc) =>
  rdc.onMessage.subscribe(() => {
    got++;
    if (got === N) {
      console.log('one-way', N, 'in', (performance.now() - t0).toFixed(0), 'ms');
      process.exit(0);
    }
  }),
);
await a.setLocalDescription(await a.createOffer());
await b.setRemoteDescription(a.localDescription!);
await b.setLocalDescription(await b.createAnswer());
await a.setRemoteDescription(b.localDescription!);
await dc.stateChanged.watch((s) => s === 'open');
t0 = performance.now();
const payload = JSON.stringify({ v: 1, type: 'telemetry', service: 'echo', payload: { i: 12345 } });
const HW = Number(process.argv[4] ?? 1e12);
let sent = 0;
dc.bufferedAmountLowThreshold = HW / 2;
const pump = () => {
  while (sent < N && dc.bufferedAmount < HW) {
    dc.send(payload);
    sent++;
  }
};
dc.bufferedAmountLow.subscribe(pump);
pump();
setInterval(() => console.log('got', got, 'buffered', dc.bufferedAmount), 1000);
setTimeout(() => process.exit(1), 20000);
