/**
 * A direct (LAN) app client for Node: tests, benchmarks and tools. Browsers speak the same envelope over
 * their own WebSocket or the data channels.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  gatewayToApp,
  GATEWAY_ENVELOPE_VERSION as v,
  type AppToGateway,
  type AppWelcome,
  type ErrorMessage,
  type GatewayToApp,
} from '@robostream/protocol/gateway';

export interface DirectAppClientOptions {
  /** wss://robot.local:7443/v1/app */
  url: string;
  token: string;
  /** Extra trusted CA (PEM) for a robot's self-signed certificate. */
  ca?: string | Buffer;
}

export interface DirectAppClientEvents {
  message: [GatewayToApp];
  close: [number, string];
}

export class DirectAppClient extends EventEmitter<DirectAppClientEvents> {
  welcome: AppWelcome | null = null;
  private constructor(readonly ws: WebSocket) {
    super();
  }

  /** Connects and authenticates; rejects with the gateway's error when the token is refused. */
  static connect(o: DirectAppClientOptions): Promise<DirectAppClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(o.url, { perMessageDeflate: false, ...(o.ca ? { ca: o.ca } : {}) });
      const client = new DirectAppClient(ws);
      ws.on('open', () => ws.send(JSON.stringify({ v, type: 'auth', token: o.token })));
      ws.on('error', (err) => reject(err));
      ws.on('close', (code, reason) => {
        client.emit('close', code, reason.toString());
        reject(new Error(`closed ${code} before welcome`));
      });
      ws.on('message', (data) => {
        const r = gatewayToApp.decode(data.toString());
        if (!r.ok) return;
        const m = r.msg;
        if (!client.welcome) {
          if (m.type === 'welcome') {
            client.welcome = m;
            resolve(client);
          } else if (m.type === 'error') reject(new GatewayError(m));
          return;
        }
        client.emit('message', m);
      });
    });
  }

  get linkId(): string {
    return this.welcome?.link ?? '';
  }

  send(msg: AppToGateway): void {
    this.ws.send(JSON.stringify(msg));
  }

  command(service: string, id: string, payload: unknown): void {
    this.send({ v, type: 'command', id, service, payload });
  }

  close(): void {
    this.ws.close(1000, 'bye');
  }
}

export class GatewayError extends Error {
  constructor(readonly error: ErrorMessage) {
    super(`${error.code}: ${error.message}`);
    this.name = 'GatewayError';
  }
}
