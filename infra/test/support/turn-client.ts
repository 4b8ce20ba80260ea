/**
 * A small TURN client over UDP (RFC 5766): Allocate with the long-term credential mechanism (the 401 -> realm and
 * nonce -> retry dance, 438 stale-nonce retry), CreatePermission, Send/Data indications, Refresh. It talks to a
 * real coturn, checks MESSAGE-INTEGRITY and FINGERPRINT on what comes back, and reports refusals as TurnError.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import {
  Attr,
  Class,
  Method,
  attr,
  decode,
  decodeXorAddress,
  encode,
  encodeXorAddress,
  errorCode,
  hasValidFingerprint,
  hasValidIntegrity,
  longTermKey,
  newTransactionId,
  textAttr,
  u32Attr,
  type Address,
  type StunAttribute,
  type StunMessage,
} from './stun-message.js';

export class TurnError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly method: string,
  ) {
    super(`${method} refused: ${code} ${reason}`);
  }
}

const UDP_TRANSPORT = 17 << 24; // REQUESTED-TRANSPORT value: protocol number in the first byte.
// A guard against a silent server, not a measurement: loopback answers in well under a millisecond.
const RESPONSE_TIMEOUT_MS = 3000;

export interface DataIndication {
  peer: Address;
  data: Buffer;
}

export class TurnClient {
  private readonly socket: Socket;
  private readonly pending = new Map<string, (m: StunMessage) => void>();
  private readonly dataWaiters: ((d: DataIndication) => void)[] = [];
  private realm = '';
  private nonce = '';
  private key: Buffer | undefined;

  private constructor(
    private readonly server: Address,
    private readonly username: string,
    private readonly password: string,
  ) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (buf) => this.onMessage(buf));
  }

  static async open(server: Address, username: string, password: string): Promise<TurnClient> {
    const c = new TurnClient(server, username, password);
    c.socket.bind(0, '127.0.0.1');
    await once(c.socket, 'listening');
    return c;
  }

  close(): void {
    this.socket.close();
  }

  /** A STUN Binding request: answers once the server is up (no credentials needed). */
  async binding(timeoutMs = RESPONSE_TIMEOUT_MS): Promise<Address> {
    const res = await this.transact(Method.Binding, [], false, timeoutMs);
    const mapped = attr(res, Attr.XorMappedAddress);
    if (res.cls !== Class.Success || !mapped) throw new Error('Binding failed');
    return decodeXorAddress(mapped);
  }

  /** Allocates a UDP relay; returns the relayed transport address. */
  async allocate(): Promise<Address> {
    const res = await this.authenticated('Allocate', Method.Allocate, [
      u32Attr(Attr.RequestedTransport, UDP_TRANSPORT),
    ]);
    const relayed = attr(res, Attr.XorRelayedAddress);
    if (!relayed) throw new Error('Allocate success without XOR-RELAYED-ADDRESS');
    return decodeXorAddress(relayed);
  }

  async createPermission(peer: Address): Promise<void> {
    await this.authenticated('CreatePermission', Method.CreatePermission, [
      { type: Attr.XorPeerAddress, value: encodeXorAddress(peer) },
    ]);
  }

  /** Releases the allocation (Refresh with LIFETIME 0). */
  async release(): Promise<void> {
    await this.authenticated('Refresh', Method.Refresh, [u32Attr(Attr.Lifetime, 0)]);
  }

  /** Sends data to a peer through the relay (Send indication; needs a permission for the peer). */
  send(peer: Address, data: Buffer): void {
    const msg = encode(Method.Send, Class.Indication, newTransactionId(), [
      { type: Attr.XorPeerAddress, value: encodeXorAddress(peer) },
      { type: Attr.Data, value: data },
    ]);
    this.socket.send(msg, this.server.port, this.server.address);
  }

  /** The next Data indication: what a peer sent to our relayed address. */
  nextData(): Promise<DataIndication> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Data indication arrived')), RESPONSE_TIMEOUT_MS);
      this.dataWaiters.push((d) => {
        clearTimeout(timer);
        resolve(d);
      });
    });
  }

  private async authenticated(name: string, method: number, attrs: StunAttribute[]): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.transact(method, attrs, this.key !== undefined);
      if (res.cls === Class.Success) {
        if (!this.key || !hasValidIntegrity(res, this.key)) {
          throw new Error(`${name} success without a valid MESSAGE-INTEGRITY`);
        }
        return res;
      }
      const err = errorCode(res);
      if (!err) throw new Error(`${name} error response without ERROR-CODE`);
      const realm = attr(res, Attr.Realm)?.toString('utf8');
      const nonce = attr(res, Attr.Nonce)?.toString('utf8');
      // 401 to an unauthenticated first try, or 438 Stale Nonce: take the realm/nonce and try again.
      const retry = (err.code === 401 && this.key === undefined) || err.code === 438;
      if (retry && realm && nonce) {
        this.realm = realm;
        this.nonce = nonce;
        this.key = longTermKey(this.username, realm, this.password);
        continue;
      }
      throw new TurnError(err.code, err.reason, name);
    }
    throw new Error(`${name}: gave up after repeated nonce challenges`);
  }

  private async transact(
    method: number,
    attrs: StunAttribute[],
    withAuth: boolean,
    timeoutMs = RESPONSE_TIMEOUT_MS,
  ): Promise<StunMessage> {
    const tid = newTransactionId();
    const all =
      withAuth && this.key
        ? [
            ...attrs,
            textAttr(Attr.Username, this.username),
            textAttr(Attr.Realm, this.realm),
            textAttr(Attr.Nonce, this.nonce),
          ]
        : attrs;
    const msg = encode(method, Class.Request, tid, all, withAuth ? this.key : undefined);
    const reply = new Promise<StunMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid.toString('hex'));
        reject(new Error(`no answer from ${this.server.address}:${this.server.port}`));
      }, timeoutMs);
      this.pending.set(tid.toString('hex'), (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    this.socket.send(msg, this.server.port, this.server.address);
    const res = await reply;
    if (!hasValidFingerprint(res)) throw new Error('response without a valid FINGERPRINT');
    return res;
  }

  private onMessage(buf: Buffer): void {
    let m: StunMessage;
    try {
      m = decode(buf);
    } catch {
      return; // not STUN (ChannelData is never used by this client)
    }
    if (m.cls === Class.Indication && m.method === Method.Data) {
      const peer = attr(m, Attr.XorPeerAddress);
      const data = attr(m, Attr.Data);
      const waiter = this.dataWaiters.shift();
      if (peer && data && waiter) waiter({ peer: decodeXorAddress(peer), data: Buffer.from(data) });
      return;
    }
    const key = m.transactionId.toString('hex');
    const resolve = this.pending.get(key);
    if (resolve) {
      this.pending.delete(key);
      resolve(m);
    }
  }
}
