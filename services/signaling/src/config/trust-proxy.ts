import { isIP } from 'node:net';

/**
 * The proxies trusted to write X-Forwarded-For: none (false), or their addresses. Fastify (proxy-addr) then takes
 * the client IP as the right-most entry that is not a trusted proxy's. Two forms are not offered: trusting every
 * hop (`true`), where the left-most entry, which the client writes, becomes its IP; and a hop count, which cannot
 * tell a proxy from a client that reaches the service directly (Fastify treats a count as "trust nothing").
 */
export type TrustProxy = false | string[];

/** An IPv4 or IPv6 address, optionally with a prefix length (CIDR). */
export function isAddressOrCidr(s: string): boolean {
  const [addr, prefix, ...rest] = s.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Why a TrustProxy from code is wrong, or undefined when it is right. */
export function trustProxyProblem(t: TrustProxy): string | undefined {
  if (t === false) return undefined;
  if (t.length === 0) return 'no proxy address given (false trusts no proxy)';
  const bad = t.find((a) => !isAddressOrCidr(a));
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not an IP address or CIDR`;
}

const ADVICE = "give the load balancer's addresses as CIDRs (e.g. 10.0.0.0/16), or false";

/** TRUST_PROXY as the environment gives it: `false`, or comma-separated addresses and CIDRs. */
export function parseTrustProxy(raw: string): { value: TrustProxy } | { problem: string } {
  const s = raw.trim();
  if (s === 'false') return { value: false };
  if (s === 'true') return { problem: `trusting every hop lets a client forge its IP; ${ADVICE}` };
  if (/^\d+$/.test(s))
    return { problem: `a hop count cannot tell a proxy from a client that connects directly; ${ADVICE}` };
  const value = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const problem = trustProxyProblem(value);
  return problem === undefined ? { value } : { problem: `${problem}; ${ADVICE}` };
}
