/**
 * Node-only: the robot token a robot service (streamer, gateway) connects to signaling with, from ROBOT_TOKEN or
 * ROBOT_TOKEN_FILE. A file is read again before every (re)connect so that it can be rotated in place. The
 * token is not verified here (signaling does that); its subject only tells the robot its own id.
 */
import { readFileSync } from 'node:fs';
import { ID_PATTERN } from './claims.js';

export interface RobotToken {
  /** The token now; while the file cannot be read (a rotation in progress), the last good one. */
  read: () => string;
  /** The variable it came from, for messages. */
  source: 'ROBOT_TOKEN' | 'ROBOT_TOKEN_FILE';
  /** The token's subject, or null when the token is empty or not a robot token (then a problem says why). */
  robotId: string | null;
}

/**
 * The robot token of `env`, or null when neither variable is set (whether one is required is the caller's to
 * say) or both are. Every problem is added to `problems`, which is what the services' config errors list.
 */
export function readRobotToken(
  env: Record<string, string | undefined>,
  problems: string[],
): RobotToken | null {
  const inline = env['ROBOT_TOKEN'];
  const file = env['ROBOT_TOKEN_FILE'];
  if (inline && file) {
    problems.push('set only one of ROBOT_TOKEN and ROBOT_TOKEN_FILE');
    return null;
  }
  let first: string;
  let read: () => string;
  if (inline) {
    first = inline.trim();
    read = () => first;
  } else if (file) {
    first = readTokenFile(file, problems);
    let last = first;
    read = () => {
      try {
        last = readFileSync(file, 'utf8').trim();
      } catch {
        // a rotation in progress: keep the last good one
      }
      return last;
    };
  } else return null;
  const source = inline ? 'ROBOT_TOKEN' : 'ROBOT_TOKEN_FILE';
  return { read, source, robotId: first ? robotSubject(first, source, problems) : null };
}

/** The robot id a robot token names, without verifying it; null (and a problem) for anything else. */
export function robotSubject(jwt: string, name: string, problems: string[]): string | null {
  const claims = unverifiedClaims(jwt);
  if (!claims) problems.push(`${name}: not a JWT`);
  else if (claims['role'] !== 'robot')
    problems.push(`${name}: not a robot token (role ${String(claims['role'])})`);
  else if (typeof claims['sub'] !== 'string' || !ID_PATTERN.test(claims['sub']))
    problems.push(`${name}: the token's subject is not a robot id`);
  else return claims['sub'];
  return null;
}

/** A JWT's payload, read without verifying it (nothing here is trusted for authorization). */
export function unverifiedClaims(jwt: string): Record<string, unknown> | null {
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function readTokenFile(file: string, problems: string[]): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    problems.push(
      `ROBOT_TOKEN_FILE=${JSON.stringify(file)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return '';
  }
}
