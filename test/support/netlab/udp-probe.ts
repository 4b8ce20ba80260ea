// A UDP probe for checking the lab's shaping from inside its namespaces (the smoke test, or by hand):
//   node --import tsx udp-probe.ts echo PORT                   answers every datagram (runs until killed)
//   node --import tsx udp-probe.ts ping HOST PORT COUNT        prints {"rttMs":[...]} (lost ones left out)
//   node --import tsx udp-probe.ts sink PORT MS                prints {"bytes":n,"packets":n} after MS
//   node --import tsx udp-probe.ts blast HOST PORT KBIT MS     sends 1200-byte datagrams at KBIT for MS
// Each prints "ready" first when it listens, so a caller knows when to start the other end.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...args] = process.argv.slice(2);

async function main(): Promise<void> {
  const s = createSocket('udp4');
  if (mode === 'echo') {
    s.on('message', (m, r) => s.send(m, r.port, r.address));
    s.bind(Number(args[0]));
    await once(s, 'listening');
    console.log('ready');
    return;
  }
  if (mode === 'sink') {
    let bytes = 0;
    let packets = 0;
    s.on('message', (m) => {
      bytes += m.length;
      packets++;
    });
    s.bind(Number(args[0]));
    await once(s, 'listening');
    console.log('ready');
    await sleep(Number(args[1]));
    console.log(JSON.stringify({ bytes, packets }));
    s.close();
    return;
  }
  const [host = '', port = '0'] = args;
  if (mode === 'ping') {
    const count = Number(args[2] ?? 10);
    const rttMs: number[] = [];
    const sent = new Map<number, number>();
    s.on('message', (m) => {
      const at = sent.get(m.readUInt32BE(0));
      if (at !== undefined) rttMs.push(performance.now() - at);
    });
    for (let i = 0; i < count; i++) {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(i, 0);
      sent.set(i, performance.now());
      s.send(b, Number(port), host);
      await sleep(50);
    }
    await sleep(1500);
    console.log(JSON.stringify({ rttMs }));
    s.close();
    return;
  }
  if (mode === 'blast') {
    const kbit = Number(args[2]);
    const ms = Number(args[3]);
    const perMs = (kbit * 1000) / 8 / 1200 / 1000;
    const start = performance.now();
    let n = 0;
    const b = Buffer.alloc(1200);
    while (performance.now() - start < ms) {
      const due = Math.floor((performance.now() - start) * perMs);
      for (; n < due; n++) s.send(b, Number(port), host);
      await sleep(5);
    }
    console.log(JSON.stringify({ sent: n }));
    s.close();
    return;
  }
  throw new Error(`unknown mode ${mode ?? ''}`);
}

await main();
