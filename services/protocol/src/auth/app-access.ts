/**
 * The robot side's one answer to "may this app token do <grant> on this robot?": verified with the deployment's
 * public key alone (no signing secret on the robot), an app token, granting this robot id (view by default).
 * Refusals come back as a protocol code with a message (what the app is told); anything else (a broken key) still
 * throws.
 */
import type { AppClaims } from './claims.js';
import { appMay, type Grant } from './grants.js';
import { TokenError, type TokenErrorCode } from './token-error.js';
import { verifyToken, type VerifyKey } from './verify.js';

export type AppAccess =
  { ok: true; claims: AppClaims } | { ok: false; code: TokenErrorCode | 'forbidden'; message: string };

export async function verifyAppAccess(
  token: string,
  key: VerifyKey,
  robotId: string,
  grant: Grant = 'view',
): Promise<AppAccess> {
  let claims;
  try {
    claims = await verifyToken(token, key, { role: 'app' });
    if (claims.role !== 'app') throw new TokenError('wrong_role', 'an app token is required');
  } catch (err) {
    if (err instanceof TokenError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
  return grantsRobot(claims, robotId, grant);
}

/** Claims another transport verified already still have to grant this robot (view by default). */
export function grantsRobot(claims: AppClaims, robotId: string, grant: Grant = 'view'): AppAccess {
  return appMay(claims, robotId, grant)
    ? { ok: true, claims }
    : { ok: false, code: 'forbidden', message: notGranted(robotId, grant) };
}

/** The one wording of a refusal, so that every enforcer tells the app the same thing. */
export function notGranted(robotId: string, grant: Grant): string {
  return grant === 'view'
    ? `this token does not grant robot ${robotId}`
    : `this token does not grant ${grant} on robot ${robotId}`;
}
