/**
 * What a robostream token asserts. Identity always comes from here, never from a message field.
 *
 * - robot tokens: role "robot", sub = robot id.
 * - app tokens:   role "app", sub = the app/user id, grants = per robot id (or "*") what the holder may do
 *   (see grants.ts). Tokens of the old form carry `robots` instead; they are read as every grant on those robots,
 *   which is what they allowed when they were issued, and marked `legacy`.
 */
import type { RobotGrants } from './grants.js';

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
  grants: RobotGrants;
  /** Set when the token had the old `robots` claim (read as every grant on those robots). */
  legacy?: true;
  exp: number;
  iat?: number;
  jti?: string;
}

export type TokenClaims = RobotClaims | AppClaims;

/** Robot ids and app subjects: short, printable, safe in logs, Redis keys and URLs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const DEFAULT_ISSUER = 'robostream';
export const DEFAULT_AUDIENCE = 'robostream';
