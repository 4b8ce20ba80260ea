/**
 * The app token: read once from the URL fragment (`#token=...`, which browsers never send to a server, so it
 * cannot reach request logs), removed from the address bar, and kept in sessionStorage for this tab only.
 * The payload is decoded (not verified: signaling is the authority) to show who is signed in and until when.
 */
import { appGrantsOf, grantsOn, type Grant, type RobotGrants } from '@robostream/protocol/auth/grants';

const STORAGE_KEY = 'robostream.token';

export interface TokenInfo {
  token: string;
  sub: string;
  /** unix ms, or null when the token has no exp claim */
  expiresAt: number | null;
  robots: string[] | '*' | null;
  /** Per-robot grants as the token states them (old `robots` tokens: every grant); {} when unreadable. */
  grants: RobotGrants;
}

/** What the token says it grants on one robot (for what to offer; signaling, robot and gateway enforce it). */
export function tokenMay(info: Pick<TokenInfo, 'grants'>, robotId: string, grant: Grant): boolean {
  return grantsOn(info.grants, robotId).has(grant);
}

export class TokenFormatError extends Error {}

export function decodeToken(token: string): TokenInfo {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[1])
    throw new TokenFormatError('not a JWT (expected three dot-separated parts)');
  let payload: unknown;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    throw new TokenFormatError('the token payload is not readable JSON');
  }
  if (typeof payload !== 'object' || payload === null)
    throw new TokenFormatError('the token payload is not an object');
  const p = payload as Record<string, unknown>;
  if (p['role'] !== undefined && p['role'] !== 'app') {
    throw new TokenFormatError(`this is a ${String(p['role'])} token; the console needs an app token`);
  }
  const robots = p['robots'];
  let grants: RobotGrants = {};
  try {
    grants = appGrantsOf(p).grants;
  } catch {
    // Unreadable grants: offer nothing beyond watching; signaling will say what is wrong with the token.
  }
  return {
    token: token.trim(),
    sub: typeof p['sub'] === 'string' ? p['sub'] : '(unknown)',
    expiresAt: typeof p['exp'] === 'number' ? p['exp'] * 1000 : null,
    robots: robots === '*' ? '*' : Array.isArray(robots) ? robots.filter((r) => typeof r === 'string') : null,
    grants,
  };
}

/** Reads `#token=` (and clears it from the address bar), else the token stored for this tab. */
export function takeTokenFromLocation(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = params.get('token');
  if (fromHash) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    sessionStorage.setItem(STORAGE_KEY, fromHash);
    return fromHash;
  }
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** ws(s)://<this origin>/v1/ws, or `#signaling=<url>` when the page is served from elsewhere (vite dev). */
export function signalingUrl(): string {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const override = params.get('signaling');
  if (override) return override;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}
