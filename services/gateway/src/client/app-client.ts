/**
 * A direct (LAN) app client for Node: tests, benchmarks and tools. Browsers speak the same envelope over
 * their own WebSocket or the data channels. Large messages (above 16 KiB) travel as chunks both ways: a big
 * command is sent behind the small frames of the same moment; chunks received are joined before `message`.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  gatewayToApp,
  LargeMessageLink,
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
  /** A chunked message from the gateway that could not be joined (broken, too big, stopped arriving). */
  dropped: [{ id: string; code: string; message: string }];
}

export class DirectAppClient extends EventEmitter<DirectAppClientEvents> {
  welcome: AppWelcome | null = null;
  private readonly large: LargeMessageLink;
  private constructor(readonly ws: WebSocket) {
    super();
    this.large = new LargeMessageLink({
      sink: {
        send: (frame) => ws.send(frame, () => this.large.pump()),
        bufferedAmount: () => ws.bufferedAmount,
        isOpen: () => ws.readyState === WebSocket.OPEN,
      },
      onDropped: (id, code, message) => this.emit('dropped', { id, code, message }),
    });
    ws.on('close', () => this.large.reset());
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
      ws.on('message', (data) => client.onFrame(data.toString(), resolve, reject));
    });
  }

  private onFrame(
    frame: string,
    resolve: (c: DirectAppClient) => void,
    reject: (err: Error) => void,
    reassembled = false,
  ): void {
    const r = gatewayToApp.decode(frame);
    if (!r.ok) return;
    const m = r.msg;
    if (m.type === 'chunk') {
      // A whole message is never itself a chunk.
      const whole = reassembled ? null : this.large.receive(m);
      if (whole !== null) this.onFrame(whole, resolve, reject, true);
      return;
    }
    // The gateway refused one of our transfers: stop sending the rest of it.
    if (m.type === 'error' && m.ref !== undefined) this.large.cancel(m.ref);
    if (!this.welcome) {
      if (m.type === 'welcome') {
        this.welcome = m;
        resolve(this);
      } else if (m.type === 'error') reject(new GatewayError(m));
      return;
    }
    this.emit('message', m);
  }

  get linkId(): string {
    return this.welcome?.link ?? '';
  }

  /**
   * Sends one envelope; a large command goes as chunks under its id (a refusal comes back with it as ref).
   * Resolves when the last byte is handed to the socket (true) or the transfer failed (false).
   */
  send(msg: AppToGateway): Promise<boolean> {
    const frame = JSON.stringify(msg);
    return Promise.resolve(
      msg.type === 'command' ? this.large.send(frame, msg.id, msg.service) : this.large.send(frame),
    );
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
