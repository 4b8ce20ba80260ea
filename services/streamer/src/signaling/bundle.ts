// With max-bundle every candidate belongs to the one transport of the BUNDLE group, which the other side
// addresses by the group's first mid (its "tagged" m-line). The candidate's sdpMid/sdpMLineIndex must name that
// m-line, or a browser may reject the candidate or attach it to a section it then discards.
import type { IceCandidateInit } from '../transport/peer-session.js';

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
