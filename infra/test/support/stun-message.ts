/**
 * Just enough of STUN (RFC 5389) and TURN (RFC 5766) to talk to a real coturn from a test: encode and decode
 * messages, XOR addresses, long-term-credential MESSAGE-INTEGRITY and FINGERPRINT.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
} as const;

export const Class = { Request: 0, Indication: 1, Success: 2, Error: 3 } as const;
export type MessageClass = (typeof Class)[keyof typeof Class];

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: MessageClass;
  transactionId: Buffer;
  attributes: StunAttribute[];
  /** The raw bytes, kept to check MESSAGE-INTEGRITY and FINGERPRINT. */
  raw: Buffer;
}

export interface Address {
  address: string;
  port: number;
}

function messageType(method: number, cls: number): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 1) << 4) |
    ((cls & 2) << 7)
  );
}

function splitType(type: number): { method: number; cls: MessageClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type & 0x0010) >> 4) | ((type & 0x0100) >> 7)) as MessageClass;
  return { method, cls };
}

export function newTransactionId(): Buffer {
  return randomBytes(12);
}

/** Long-term credential key: MD5(username ":" realm ":" password) (RFC 5389 section 15.4). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

function attrBytes(a: StunAttribute): Buffer {
  const pad = (4 - (a.value.length % 4)) % 4;
  const b = Buffer.alloc(4 + a.value.length + pad);
  b.writeUInt16BE(a.type, 0);
  b.writeUInt16BE(a.value.length, 2);
  a.value.copy(b, 4);
  return b;
}

function header(method: number, cls: number, bodyLength: number, tid: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(messageType(method, cls), 0);
  h.writeUInt16BE(bodyLength, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  tid.copy(h, 8);
  return h;
}

/** Encodes a message; with `integrityKey` it appends MESSAGE-INTEGRITY, then always FINGERPRINT. */
export function encode(
  method: number,
  cls: MessageClass,
  tid: Buffer,
  attributes: StunAttribute[],
  integrityKey?: Buffer,
): Buffer {
  let body = Buffer.concat(attributes.map(attrBytes));
  if (integrityKey) {
    const covered = Buffer.concat([header(method, cls, body.length + 24, tid), body]);
    const mac = createHmac('sha1', integrityKey).update(covered).digest();
    body = Buffer.concat([body, attrBytes({ type: Attr.MessageIntegrity, value: mac })]);
  }
  const covered = Buffer.concat([header(method, cls, body.length + 8, tid), body]);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(covered) ^ 0x5354554e) >>> 0);
  body = Buffer.concat([body, attrBytes({ type: Attr.Fingerprint, value: fp })]);
  return Buffer.concat([header(method, cls, body.length, tid), body]);
}

export function decode(raw: Buffer): StunMessage {
  if (raw.length < 20 || (raw[0]! & 0xc0) !== 0) throw new Error('not a STUN message');
  if (raw.readUInt32BE(4) !== MAGIC_COOKIE) throw new Error('STUN message without the magic cookie');
  const length = raw.readUInt16BE(2);
  if (raw.length !== 20 + length)
    throw new Error(`STUN length ${length} does not match datagram ${raw.length}`);
  const { method, cls } = splitType(raw.readUInt16BE(0));
  const attributes: StunAttribute[] = [];
  for (let off = 20; off < raw.length;) {
    const type = raw.readUInt16BE(off);
    const len = raw.readUInt16BE(off + 2);
    attributes.push({ type, value: raw.subarray(off + 4, off + 4 + len) });
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { method, cls, transactionId: raw.subarray(8, 20), attributes, raw };
}

export function attr(m: StunMessage, type: number): Buffer | undefined {
  return m.attributes.find((a) => a.type === type)?.value;
}

/** Byte offset of an attribute's TLV header in the raw message. */
function attrOffset(m: StunMessage, type: number): number | undefined {
  for (let off = 20; off < m.raw.length;) {
    const t = m.raw.readUInt16BE(off);
    const len = m.raw.readUInt16BE(off + 2);
    if (t === type) return off;
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return undefined;
}

/** True when the message carries a MESSAGE-INTEGRITY that `key` reproduces. */
export function hasValidIntegrity(m: StunMessage, key: Buffer): boolean {
  const off = attrOffset(m, Attr.MessageIntegrity);
  if (off === undefined) return false;
  const covered = Buffer.from(m.raw.subarray(0, off));
  covered.writeUInt16BE(off - 20 + 24, 2);
  const expected = createHmac('sha1', key).update(covered).digest();
  return timingSafeEqual(expected, m.raw.subarray(off + 4, off + 24));
}

/** True when the message carries a FINGERPRINT and it matches. */
export function hasValidFingerprint(m: StunMessage): boolean {
  const off = attrOffset(m, Attr.Fingerprint);
  if (off === undefined) return false;
  const covered = Buffer.from(m.raw.subarray(0, off));
  covered.writeUInt16BE(off - 20 + 8, 2);
  return m.raw.readUInt32BE(off + 4) === (crc32(covered) ^ 0x5354554e) >>> 0;
}

export function errorCode(m: StunMessage): { code: number; reason: string } | undefined {
  const v = attr(m, Attr.ErrorCode);
  if (!v) return undefined;
  return { code: (v[2]! & 0x7) * 100 + v[3]!, reason: v.subarray(4).toString('utf8') };
}

export function encodeXorAddress({ address, port }: Address): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4) throw new Error(`IPv4 only in this test client: ${address}`);
  const b = Buffer.alloc(8);
  b.writeUInt8(0x01, 1);
  b.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  b.writeUInt32BE(((Buffer.from(parts).readUInt32BE(0) ^ MAGIC_COOKIE) >>> 0) >>> 0, 4);
  return b;
}

export function decodeXorAddress(v: Buffer): Address {
  if (v.readUInt8(1) !== 0x01) throw new Error('IPv4 only in this test client');
  const port = v.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const a = Buffer.alloc(4);
  a.writeUInt32BE((v.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0);
  return { address: [...a].join('.'), port };
}

export function textAttr(type: number, text: string): StunAttribute {
  return { type, value: Buffer.from(text, 'utf8') };
}

export function u32Attr(type: number, n: number): StunAttribute {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return { type, value: b };
}
