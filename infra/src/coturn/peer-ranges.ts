/**
 * Address ranges a TURN relay must never reach on a client's behalf, and the CIDR arithmetic that turns them into
 * coturn's `denied-peer-ip=<first>-<last>` lines (coturn 4.6 takes ranges, not CIDR prefixes).
 *
 * Without these a TURN credential is a ticket into the network the relay sits in: the EC2 metadata service
 * (169.254.169.254), the VPC's Redis and tasks, anything on private or carrier-grade NAT space.
 */

export type DeniedRangeKind =
  | 'unspecified'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'translation'
  | 'vpc';

export interface DeniedRange {
  cidr: string;
  kind: DeniedRangeKind;
  why: string;
}

/**
 * Special-purpose ranges (RFC 6890 and the IANA registries) that no legitimate WebRTC peer uses.
 * Not listed: the IPv6 unspecified address `::`. coturn 4.6 reads `denied-peer-ip=::-::` as "any address" and
 * then refuses every peer (found by the loopback test); `::` is not a reachable peer anyway.
 */
export const DEFAULT_DENIED_PEER_RANGES: readonly DeniedRange[] = [
  { cidr: '0.0.0.0/8', kind: 'unspecified', why: '"this network"' },
  { cidr: '10.0.0.0/8', kind: 'private', why: 'RFC 1918 private' },
  { cidr: '100.64.0.0/10', kind: 'cgnat', why: 'carrier-grade NAT shared space (RFC 6598)' },
  { cidr: '127.0.0.0/8', kind: 'loopback', why: 'loopback' },
  {
    cidr: '169.254.0.0/16',
    kind: 'link-local',
    why: 'link-local, includes EC2 instance metadata 169.254.169.254 and DNS 169.254.169.253',
  },
  { cidr: '172.16.0.0/12', kind: 'private', why: 'RFC 1918 private' },
  { cidr: '192.0.0.0/24', kind: 'reserved', why: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', kind: 'documentation', why: 'TEST-NET-1' },
  { cidr: '192.88.99.0/24', kind: 'reserved', why: '6to4 relay anycast' },
  { cidr: '192.168.0.0/16', kind: 'private', why: 'RFC 1918 private' },
  { cidr: '198.18.0.0/15', kind: 'reserved', why: 'benchmarking' },
  { cidr: '198.51.100.0/24', kind: 'documentation', why: 'TEST-NET-2' },
  { cidr: '203.0.113.0/24', kind: 'documentation', why: 'TEST-NET-3' },
  { cidr: '224.0.0.0/4', kind: 'multicast', why: 'multicast' },
  { cidr: '240.0.0.0/4', kind: 'reserved', why: 'reserved, includes broadcast 255.255.255.255' },
  { cidr: '::1/128', kind: 'loopback', why: 'loopback' },
  { cidr: '::ffff:0:0/96', kind: 'translation', why: 'IPv4-mapped: would reach every IPv4 range above' },
  { cidr: '64:ff9b::/96', kind: 'translation', why: 'NAT64 well-known prefix' },
  { cidr: '64:ff9b:1::/48', kind: 'translation', why: 'local-use NAT64' },
  { cidr: '100::/64', kind: 'reserved', why: 'discard-only' },
  { cidr: '2001:db8::/32', kind: 'documentation', why: 'documentation' },
  { cidr: '2002::/16', kind: 'translation', why: '6to4: embeds IPv4 addresses' },
  { cidr: 'fc00::/7', kind: 'private', why: 'unique local, includes EC2 metadata fd00:ec2::254' },
  { cidr: 'fe80::/10', kind: 'link-local', why: 'link-local' },
  { cidr: 'ff00::/8', kind: 'multicast', why: 'multicast' },
];

export interface AddressRange {
  first: string;
  last: string;
}

/** The first and last address of a CIDR block, e.g. 10.0.0.0/8 -> 10.0.0.0 .. 10.255.255.255. */
export function cidrToRange(cidr: string): AddressRange {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new Error(`not a CIDR block (no prefix length): ${cidr}`);
  const addr = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) throw new Error(`bad prefix length in ${cidr}`);
  const prefix = Number(prefixText);
  const v6 = addr.includes(':');
  const bits = v6 ? 128 : 32;
  if (prefix > bits) throw new Error(`prefix length ${prefix} is too long for ${cidr}`);
  const value = v6 ? parseIpv6(addr) : parseIpv4(addr);
  const hostBits = BigInt(bits - prefix);
  const hostMask = (1n << hostBits) - 1n;
  if ((value & hostMask) !== 0n) throw new Error(`${cidr} has host bits set`);
  const last = value | hostMask;
  return v6
    ? { first: formatIpv6(value), last: formatIpv6(last) }
    : { first: formatIpv4(value), last: formatIpv4(last) };
}

export function isValidCidr(cidr: string): boolean {
  try {
    cidrToRange(cidr);
    return true;
  } catch {
    return false;
  }
}

/** True when every address of `inner` lies inside `outer` (same family). */
export function cidrContains(outer: string, inner: string): boolean {
  const o = cidrToRange(outer);
  const i = cidrToRange(inner);
  if (o.first.includes(':') !== i.first.includes(':')) return false;
  const parse = o.first.includes(':') ? parseIpv6 : parseIpv4;
  return parse(o.first) <= parse(i.first) && parse(i.last) <= parse(o.last);
}

function parseIpv4(text: string): bigint {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`bad IPv4 address ${text}`);
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`bad IPv4 address ${text}`);
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function parseIpv6(text: string): bigint {
  if (text.includes('.')) throw new Error(`embedded IPv4 notation is not supported: ${text}`);
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${text}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw new Error(`bad IPv6 address ${text}`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 address ${text}`);
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as "::". */
function formatIpv6(v: bigint): string {
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((v >> s) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
