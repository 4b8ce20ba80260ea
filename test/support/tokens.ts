import { mintToken, type RobotGrants } from '@robostream/protocol/auth';
import { generateSigningKeys, publicKeyPem, type SigningKeys } from '@robostream/protocol/auth/keys';

/** A deployment key pair made for one test file, with token minting around it. */
export class TestKeys {
  readonly keys: SigningKeys;
  constructor(alg: 'EdDSA' | 'ES256' = 'EdDSA') {
    this.keys = generateSigningKeys(alg);
  }
  get publicPem(): string {
    return publicKeyPem(this.keys.publicKey);
  }
  robot(sub: string, ttlSec = 600, nowSec?: number): Promise<string> {
    return mintToken(this.keys.privateKey, {
      role: 'robot',
      sub,
      ttlSec,
      alg: this.keys.alg,
      ...(nowSec ? { nowSec } : {}),
    });
  }
  /** Per-robot grants, e.g. {"rover-1": ["view", "drive"]}. */
  appWith(sub: string, grants: RobotGrants, ttlSec = 600): Promise<string> {
    return mintToken(this.keys.privateKey, { role: 'app', sub, grants, ttlSec, alg: this.keys.alg });
  }
  /** The old claim form: every grant on these robots. */
  app(sub: string, robots: string[] | '*', ttlSec = 600, nowSec?: number): Promise<string> {
    return mintToken(this.keys.privateKey, {
      role: 'app',
      sub,
      robots,
      ttlSec,
      alg: this.keys.alg,
      ...(nowSec ? { nowSec } : {}),
    });
  }
}
