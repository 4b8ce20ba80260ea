// SDP helpers that do not depend on the WebRTC engine: the BUNDLE tag for candidates, ICE generations and
// the BUNDLE group of an answer.
//
// With max-bundle every candidate belongs to the one transport of the BUNDLE group, which the other side
// addresses by the group's first mid (its "tagged" m-line). The candidate's sdpMid/sdpMLineIndex must name that
// m-line, or a browser may reject the candidate or attach it to a section it then discards.
import type { IceCandidateInit } from './peer-session.js';

export interface BundleTag {
  mid: string;
  mLineIndex: number;
}

/** The tagged m-line of the first BUNDLE group of an SDP, or the first m-line when there is no group. */
export function bundleTag(sdp: string): BundleTag | null {
  const lines = sdp.split(/\r?\n/);
  const mids: string[] = [];
  let inMedia = false;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inMedia = true;
      mids.push('');
    } else if (inMedia && line.startsWith('a=mid:')) {
      mids[mids.length - 1] = line.slice('a=mid:'.length).trim();
    }
  }
  const group = lines.find((l) => l.startsWith('a=group:BUNDLE '));
  const tagged = group?.slice('a=group:BUNDLE '.length).trim().split(/\s+/)[0];
  const index = tagged !== undefined ? mids.indexOf(tagged) : mids.length > 0 ? 0 : -1;
  const mid = mids[index];
  return index >= 0 && mid !== undefined ? { mid, mLineIndex: index } : null;
}

export function tagCandidate(candidate: IceCandidateInit, tag: BundleTag | null): IceCandidateInit {
  return tag ? { ...candidate, sdpMid: tag.mid, sdpMLineIndex: tag.mLineIndex } : candidate;
}

/**
 * Every m-section of the offer carries the ICE credentials of its first one. With max-bundle there is one ICE
 * transport, but werift 0.24.4 applies each m-section's credentials to it in turn; Chromium's ICE-restart offer
 * keeps the old credentials in a section the robot rejected (port 0), so the transport ended up with the old
 * remote ufrag, answered Chromium's new checks but never completed its own and never selected the new pair.
 */
export function oneIceGeneration(offerSdp: string): string {
  const ufrag = iceUfrag(offerSdp);
  const pwd = /^a=ice-pwd:(\S+)/m.exec(offerSdp)?.[1];
  if (!ufrag || !pwd) return offerSdp;
  return offerSdp
    .replace(/^a=ice-ufrag:\S+/gm, `a=ice-ufrag:${ufrag}`)
    .replace(/^a=ice-pwd:\S+/gm, `a=ice-pwd:${pwd}`);
}

/** The first ICE username fragment of an SDP: a new one in a later offer means an ICE restart. */
export function iceUfrag(sdp: string): string | null {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null;
}

/** The mids of the first BUNDLE group, or null when there is none. */
export function bundleMids(sdp: string): string[] | null {
  return /^a=group:BUNDLE (.*)$/m.exec(sdp)?.[1]?.trim().split(/\s+/) ?? null;
}

/**
 * Narrows an answer's BUNDLE group to the mids the offer bundled. werift bundles every m-line of its answer, also
 * one the offer left out of its group (Chromium leaves a section the robot answered inactive out of its re-offers),
 * and Chromium refuses such an answer.
 */
export function narrowBundle(answerSdp: string, offered: string[] | null): string {
  if (!offered) return answerSdp;
  return answerSdp.replace(/^a=group:BUNDLE (.*)$/m, (_line, mids: string) => {
    const kept = mids
      .trim()
      .split(/\s+/)
      .filter((m) => offered.includes(m));
    return `a=group:BUNDLE ${kept.join(' ')}`;
  });
}
