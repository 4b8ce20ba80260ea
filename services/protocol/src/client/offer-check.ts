// An app's offer is hostile input: anyone with a grant can send a robot endpoint any text as SDP (through
// signaling, WHEP or the LAN server). werift's parser and negotiation throw on much of it, with messages about
// their own internals ("Cannot read properties of undefined (reading 'iceParams')", "exception") that tell the app
// nothing. The shape every WebRTC offer has is checked here first, each problem named; what the WebRTC engine still
// refuses, each endpoint's adapter (the streamer's, the gateway's) reports as the same typed error, in its words.

/** The app's offer cannot be answered because of the offer itself (not the robot's state): a client error. */
export class BadOfferError extends Error {
  readonly code = 'bad_offer';
  constructor(message: string) {
    super(message);
    this.name = 'BadOfferError';
  }
}

/** What werift threw on an offer, as the app's error. */
export function badOffer(what: string, err: unknown): BadOfferError {
  return new BadOfferError(`${what}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200));
}

/**
 * Throws BadOfferError naming the first thing missing from what every WebRTC offer carries (RFC 8829, 8839,
 * 8842): `v=0` first, at least one media section, one `a=mid` in each and no two alike, ICE credentials and a
 * DTLS fingerprint. Those last three are looked for anywhere in the offer, not per section: a bundle-only section
 * (RFC 8843) may leave its transport attributes to the bundle's first section.
 */
export function checkOffer(sdp: string): void {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0'))
    throw new BadOfferError('the offer is not SDP (no v=0 first)');
  const lines = sdp.split(/\r?\n/);
  const firstMedia = lines.findIndex((l) => l.startsWith('m='));
  if (firstMedia < 0) throw new BadOfferError('the offer has no media section (m=)');
  const sections: string[][] = [];
  for (const line of lines.slice(firstMedia)) {
    if (line.startsWith('m=')) sections.push([line]);
    else sections[sections.length - 1]!.push(line);
  }
  const has = (ls: string[], prefix: string) =>
    ls.some((l) => l.startsWith(prefix) && l.length > prefix.length);
  const seen = new Map<string, number>();
  sections.forEach((s, i) => {
    const name = `media section ${i + 1} (${s[0]!.slice(2).split(' ')[0] || '?'})`;
    const mids = s.filter((l) => l.startsWith('a=mid:')).map((l) => l.slice('a=mid:'.length).trim());
    if (mids.length === 0 || mids[0] === '') throw new BadOfferError(`${name} has no a=mid`);
    if (mids.length > 1) throw new BadOfferError(`${name} has ${mids.length} a=mid lines`);
    const other = seen.get(mids[0]!);
    if (other !== undefined)
      throw new BadOfferError(
        `media sections ${other + 1} and ${i + 1} share a=mid:${mids[0]!.slice(0, 32)}`,
      );
    seen.set(mids[0]!, i);
  });
  for (const [prefix, what] of [
    ['a=ice-ufrag:', 'ICE username fragment (a=ice-ufrag)'],
    ['a=ice-pwd:', 'ICE password (a=ice-pwd)'],
    ['a=fingerprint:', 'DTLS fingerprint (a=fingerprint)'],
  ] as const)
    if (!has(lines, prefix)) throw new BadOfferError(`the offer has no ${what}`);
}
