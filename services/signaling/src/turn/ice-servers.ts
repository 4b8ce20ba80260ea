import type { IceServer } from '@robostream/protocol';
import type { Config } from '../config/config.js';
import { turnRestCredential } from './credentials.js';

export interface IceServerGrant {
  iceServers: IceServer[];
  /** Unix ms, or null when there is nothing that expires. */
  expiresAt: number | null;
}

/** The ICE servers handed to one peer: STUN as configured, TURN with fresh REST credentials named after it. */
export function iceServersFor(config: Pick<Config, 'turn' | 'stunUrls'>, peerLabel: string): IceServerGrant {
  const iceServers: IceServer[] = [];
  if (config.stunUrls.length) iceServers.push({ urls: config.stunUrls });
  if (!config.turn) return { iceServers, expiresAt: null };
  const c = turnRestCredential(config.turn.secret, peerLabel, config.turn.ttlSec);
  iceServers.push({ urls: config.turn.urls, username: c.username, credential: c.credential });
  return { iceServers, expiresAt: c.expiresAt * 1000 };
}
