/**
 * Per-robot grants in app tokens: what the holder may do with each robot. One answer for every enforcer
 * (signaling, streamer, gateway, recording): `appMay(claims, robotId, grant)`.
 *
 * - view:      video and audio from the robot, telemetry, WHEP, and the e-stop;
 * - talk:      send microphone and camera to the robot (implies view);
 * - drive:     take a free control lock, hold it and send commands (implies view);
 * - supervise: drive, and take the lock over from another operator (implies drive and view).
 *
 * The implications are applied when asking, never written into tokens: a token says what its issuer meant.
 */
import { ID_PATTERN, type AppClaims } from './claims.js';
import { TokenError } from './token-error.js';

export const GRANTS = ['view', 'talk', 'drive', 'supervise'] as const;
export type Grant = (typeof GRANTS)[number];

/** Robot id, or "*" for every robot, to the grants the token gives there. */
export type RobotGrants = Readonly<Record<string, readonly Grant[]>>;

/** What each grant includes besides itself: nobody can drive or talk to a robot they cannot see. */
const IMPLIES: Record<Grant, readonly Grant[]> = {
  view: [],
  talk: ['view'],
  drive: ['view'],
  supervise: ['drive', 'view'],
};

/** The most a token of the old form (`robots` only, before grants) could do: everything. */
export const ALL_GRANTS: readonly Grant[] = GRANTS;

export function isGrant(s: unknown): s is Grant {
  return typeof s === 'string' && (GRANTS as readonly string[]).includes(s);
}

/** Everything the grants map gives on one robot: its own entry and the "*" entry, with implications. */
export function grantsOn(grants: RobotGrants, robotId: string): Set<Grant> {
  const out = new Set<Grant>();
  for (const g of [...(grants['*'] ?? []), ...(Object.hasOwn(grants, robotId) ? grants[robotId]! : [])]) {
    out.add(g);
    for (const implied of IMPLIES[g]) out.add(implied);
  }
  return out;
}

/** Sorted list form of grantsOn, for messages (signaling's session_request, the gateway's welcome). */
export function grantListOn(grants: RobotGrants, robotId: string): Grant[] {
  const on = grantsOn(grants, robotId);
  return GRANTS.filter((g) => on.has(g));
}

/**
 * Checks and copies a `grants` claim: an object of robot ids (or "*") to non-empty lists of known grant names.
 * Anything else is a token_invalid TokenError that says what is wrong.
 */
export function parseGrantsClaim(value: unknown): RobotGrants {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TokenError('token_invalid', 'app token grants must be an object of robot id to grant list');
  const out: Record<string, Grant[]> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new TokenError('token_invalid', 'app token grants no robot');
  for (const [robot, list] of entries) {
    if (robot !== '*' && !ID_PATTERN.test(robot))
      throw new TokenError('token_invalid', 'app token grants name an invalid robot id');
    if (!Array.isArray(list) || list.length === 0)
      throw new TokenError('token_invalid', `app token grants for ${robot} must be a non-empty list`);
    const bad = list.find((g) => !isGrant(g));
    if (bad !== undefined)
      throw new TokenError(
        'token_invalid',
        `app token has an unknown grant ${JSON.stringify(String(bad)).slice(0, 40)} (known: ${GRANTS.join(', ')})`,
      );
    out[robot] = [...new Set(list as Grant[])];
  }
  return out;
}

/**
 * The grants an app token's payload states: its `grants` claim, or, the old form, every grant on the robots of its
 * `robots` claim (what such a token allowed when it was issued; `legacy`). Both at once, or neither valid, is a
 * token_invalid TokenError. Verifiers and the console's display read tokens through this one function.
 */
export function appGrantsOf(payload: Record<string, unknown>): { grants: RobotGrants; legacy: boolean } {
  const { robots, grants } = payload;
  // Both forms at once would leave it open which one the issuer meant.
  if (robots !== undefined && grants !== undefined)
    throw new TokenError('token_invalid', 'app token has both robots and grants; use grants alone');
  if (grants !== undefined) return { grants: parseGrantsClaim(grants), legacy: false };
  if (robots === '*') return { grants: { '*': ALL_GRANTS }, legacy: true };
  if (Array.isArray(robots) && robots.every((r): r is string => typeof r === 'string' && ID_PATTERN.test(r)))
    return { grants: Object.fromEntries(robots.map((r) => [r, ALL_GRANTS])), legacy: true };
  throw new TokenError('token_invalid', 'app token has no valid grants (or robots) claim');
}

/** A grant list from a command line or a config string: "view,talk" -> ['view', 'talk'], with a clear error. */
export function parseGrantList(s: string): Grant[] {
  const names = s
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error(`no grants in ${JSON.stringify(s)} (known: ${GRANTS.join(', ')})`);
  const bad = names.find((g) => !isGrant(g));
  if (bad !== undefined)
    throw new Error(`unknown grant ${JSON.stringify(bad)} (known: ${GRANTS.join(', ')})`);
  return [...new Set(names as Grant[])];
}

/**
 * The one question every enforcer asks: does this app token grant `grant` on `robotId`?
 * (Recording, the streamer, signaling and the gateway all call this; nothing else reads `grants`.)
 */
export function appMay(claims: Pick<AppClaims, 'grants'>, robotId: string, grant: Grant): boolean {
  return grantsOn(claims.grants, robotId).has(grant);
}

/** May this token reach the robot at all (see it in presence, open sessions)? Every grant implies view. */
export function appMayReach(claims: Pick<AppClaims, 'grants'>, robotId: string): boolean {
  return appMay(claims, robotId, 'view');
}
