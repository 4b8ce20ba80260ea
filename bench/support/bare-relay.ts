/**
 * The baseline: a bare `ws` server that forwards every frame from one socket to its partner, with no parsing,
 * auth or routing. Sockets pair up in connection order. Prints its port on stdout. Started by
 * bench/signaling/relay.ts in a process of its own (a helper, not a bench: it runs until stopped).
 */
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
let waiting: WebSocket | undefined;
wss.on('connection', (ws) => {
  if (!waiting) {
    waiting = ws;
    return;
  }
  const a = waiting;
  waiting = undefined;
  a.on('message', (d, bin) => ws.send(d, { binary: bin }));
  ws.on('message', (d, bin) => a.send(d, { binary: bin }));
});
wss.on('listening', () => console.log(JSON.stringify({ port: (wss.address() as { port: number }).port })));
process.on('SIGTERM', () => process.exit(0));
