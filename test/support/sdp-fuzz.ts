// Hostile SDP for fuzzing the robot endpoints' answer paths (fast-check): mutations of a real offer, line by line
// and token by token, with odd values and stray SDP lines; and hostile trickled candidates.
import fc from 'fast-check';

const weird = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    ':',
    '0',
    '-1',
    '99999999999999999999',
    'NaN',
    '\u0000',
    '💥',
    'a'.repeat(3000),
    '/',
    '=',
  ),
  fc.string({ maxLength: 24 }),
  fc.integer().map(String),
);
const sdpLines = fc.constantFrom(
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'm=audio 0 RTP/AVP 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=zz;packetization-mode=9',
  'a=mid:',
  'a=group:BUNDLE 7 8 9',
  'a=ssrc:1 cname:x',
  'a=extmap:99 urn:x',
  'a=setup:holdconn',
  'a=fingerprint:sha-256 ZZ',
  'a=ice-ufrag:',
  'a=candidate:1 1 udp 1 1.2.3.4 99999 typ host',
  'a=simulcast:recv 1;2',
  'c=IN IP4 x',
);
export type SdpMutation =
  | { k: 'drop' | 'dup'; i: number }
  | { k: 'token'; i: number; j: number; w: string }
  | { k: 'insert'; i: number; w: string }
  | { k: 'truncate'; n: number };
export const sdpMutation: fc.Arbitrary<SdpMutation> = fc.oneof(
  fc.record({ k: fc.constantFrom('drop' as const, 'dup' as const), i: fc.nat() }),
  fc.record({ k: fc.constant('token' as const), i: fc.nat(), j: fc.nat(), w: weird }),
  fc.record({ k: fc.constant('insert' as const), i: fc.nat(), w: fc.oneof(weird, sdpLines) }),
  fc.record({ k: fc.constant('truncate' as const), n: fc.nat() }),
);
export const hostileCandidate = fc.record({
  candidate: fc.oneof(
    weird,
    fc.constantFrom(
      'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host',
      'candidate:1 1 tcp 1 ::1 65536 typ srflx raddr x rport y',
      'candidate: 1 udp',
      'candidate:x y z w v u typ host generation -1',
    ),
  ),
  sdpMid: fc.option(fc.oneof(weird, fc.constantFrom('0', '1', '2')), { nil: undefined }),
  sdpMLineIndex: fc.option(fc.integer({ min: -3, max: 8 }), { nil: undefined }),
});

/** The offer given as its lines, with each mutation applied in turn; CRLF-joined. */
export function mutateSdp(lines: string[], muts: SdpMutation[]): string {
  let ls = [...lines];
  for (const m of muts) {
    if (ls.length === 0) break;
    if (m.k === 'truncate') {
      ls = ls.slice(0, m.n % ls.length);
      continue;
    }
    const i = m.i % ls.length;
    if (m.k === 'drop') ls.splice(i, 1);
    else if (m.k === 'dup') ls.splice(i, 0, ls[i]!);
    else if (m.k === 'insert') ls.splice(i, 0, m.w);
    else if (m.k === 'token') {
      const tokens = ls[i]!.split(/([ :=/])/);
      tokens[m.j % tokens.length] = m.w;
      ls[i] = tokens.join('');
    }
  }
  return ls.join('\r\n') + '\r\n';
}
