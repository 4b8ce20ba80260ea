/**
 * What a robostream token asserts. Identity always comes from here, never from a message field.
 *
 * - robot tokens: role "robot", sub = robot id.
 * - app tokens:   role "app", sub = the app/user id, robots = the robot ids it may reach, or "*" for all.
 */
export type Role = 'robot' | 'app';

export interface RobotClaims {
  role: 'robot';
  sub: string;
  exp: number;
  iat?: number;
  jti?: string;
}

export interface AppClaims {
  role: 'app';
  sub: string;
  robots: string[] | '*';
  exp: number;
  iat?: number;
  jti?: string;
}

export type TokenClaims = RobotClaims | AppClaims;

/** Robot ids and app subjects: short, printable, safe in logs, Redis keys and URLs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const DEFAULT_ISSUER = 'robostream';
export const DEFAULT_AUDIENCE = 'robostream';

export function appMayReach(claims: AppClaims, robotId: string): boolean {
  return claims.robots === '*' || claims.robots.includes(robotId);
}
