import { test } from 'node:test';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { ServiceClient } from '../src/client/index.js';
import { startTestGateway } from './helpers.js';
import { largePayload } from './support/large-payload.js';
test('dbg', async () => {
  const t = await startTestGateway();
  const svc = new ServiceClient({ url: t.gw.localUrl, service: 'mapper' });
  svc.onCommand((c) => {
    console.log('svc got command', c.id);
    return 1;
  });
  svc.on('error', (e) => console.log('svc error', e));
  await svc.ready();
  const op = await t.app('olga');
  op.client.on('message', (m) => console.log('app got', JSON.stringify(m).slice(0, 200)));
  await op.client.send({ v, type: 'lock.take' });
  await new Promise((r) => setTimeout(r, 200));
  const p = op.client.send({
    v,
    type: 'command',
    id: 'u1',
    service: 'mapper',
    payload: largePayload(5_000_000, 1),
  });
  console.log('send returned', await p);
  await new Promise((r) => setTimeout(r, 5000));
  console.log(t.gw.stats());
  svc.close();
  await t.close();
});
