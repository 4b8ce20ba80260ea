/**
 * App links that have not authenticated yet. A direct link's first frame must be `auth` with an app token,
 * verified with the app public key (verifyAppAccess, the robot side's one token check). Frames that arrive while
 * the token is being verified wait and are replayed after it; a link that sends no auth in time, or is refused
 * three times, is closed.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { verifyAppAccess, type AppClaims } from '@robostream/protocol/auth';
import { GatewayCloseCode, type GatewayErrorCode } from '@robostream/protocol/gateway';
import type { AppLink } from '../links/app-link.js';

const MAX_AUTH_FAILURES = 3;
const MAX_AUTH_BACKLOG = 64;

export interface PendingLink {
  link: AppLink;
  log: Logger;
}

export interface LinkAuthenticatorOptions<L extends PendingLink> {
  robotId: string;
  appPublicKey: KeyObject;
  authTimeoutMs: number;
  /** The token was good: the link becomes an app link. */
  admit(l: L, claims: AppClaims): void;
  /** Sends the link an error frame. */
  refuse(l: L, code: GatewayErrorCode, message: string): void;
  /** Handles a frame that waited for the verification. */
  replay(l: L, frame: string): void;
}

interface AuthState {
  verifying: boolean;
  failures: number;
  timer: NodeJS.Timeout;
  /** Frames that arrived while the token was being verified. */
  backlog: string[];
}

export class LinkAuthenticator<L extends PendingLink> {
  private readonly pending = new Map<L, AuthState>();

  constructor(private readonly o: LinkAuthenticatorOptions<L>) {}

  /** The link must authenticate within the auth timeout. */
  expect(l: L): void {
    const timer = setTimeout(() => {
      this.o.refuse(l, 'auth_timeout', `no auth within ${this.o.authTimeoutMs} ms`);
      l.link.close(GatewayCloseCode.AuthTimeout, 'auth_timeout');
    }, this.o.authTimeoutMs);
    timer.unref();
    this.pending.set(l, { verifying: false, failures: 0, timer, backlog: [] });
  }

  /** While its token is being verified, a link's frames wait (a bounded number). True when the frame was taken. */
  holdWhileVerifying(l: L, frame: string): boolean {
    const a = this.pending.get(l);
    if (!a?.verifying) return false;
    if (a.backlog.length >= MAX_AUTH_BACKLOG)
      this.o.refuse(l, 'unauthenticated', 'still verifying the token');
    else a.backlog.push(frame);
    return true;
  }

  async verify(l: L, token: string): Promise<void> {
    const a = this.pending.get(l);
    if (!a) return;
    a.verifying = true;
    let claims: AppClaims | null = null;
    let code: GatewayErrorCode = 'token_invalid';
    let message = 'token refused';
    try {
      const access = await verifyAppAccess(token, this.o.appPublicKey, this.o.robotId);
      if (access.ok) claims = access.claims;
      else ({ code, message } = access);
    } catch (err) {
      code = 'internal';
      message = 'token verification failed';
      l.log.error({ err: (err as Error).message }, 'token verification error');
    }
    a.verifying = false;
    if (!this.pending.has(l)) return; // closed meanwhile
    if (claims) this.o.admit(l, claims);
    else {
      a.failures++;
      l.log.info({ code, failures: a.failures }, 'app auth refused');
      this.o.refuse(l, code, message);
      if (a.failures >= MAX_AUTH_FAILURES) {
        l.link.close(code === 'forbidden' ? GatewayCloseCode.Forbidden : GatewayCloseCode.Unauthorized, code);
        return;
      }
    }
    const backlog = a.backlog;
    a.backlog = [];
    for (const f of backlog) this.o.replay(l, f);
  }

  /** The link was admitted or closed: no more timeout. */
  forget(l: L): void {
    const a = this.pending.get(l);
    if (a) clearTimeout(a.timer);
    this.pending.delete(l);
  }

  /** Links still authenticating. */
  links(): L[] {
    return [...this.pending.keys()];
  }
}
