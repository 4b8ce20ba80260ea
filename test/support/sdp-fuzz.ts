// Hostile SDP for fuzzing the robot endpoints' answer paths (fast-check): mutations of a real offer, line by line
// and token by token, with odd values and stray SDP lines; and hostile trickled candidates.
import assert from 'node:assert/strict';
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

/** A liveness bound per step (not a speed figure): a step that takes longer counts as hanging. */
export const SETTLE_MS = 5_000;

/** `p`, or a rejection naming `what` once SETTLE_MS have passed. */
export async function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle in ${SETTLE_MS} ms`)), SETTLE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A session an endpoint answered, as the fuzzer drives it. */
export interface AnsweredSession {
  addRemoteCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  /** Applies an ICE-restart offer. */
  restart(offerSdp: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The property both robot endpoints hold: every mutated offer is answered, or refused with an error `typed`
 * accepts (never anything else, never by hanging); an answered session takes hostile candidates (refused, if at
 * all, with an Error) and a mutated ICE-restart offer (refused, if at all, with a typed error); each is closed.
 * `answer` rejects with the endpoint's refusal and leaves nothing open when it does. Returns how many offers went
 * each way: a caller asserts both happened, or the property says little.
 */
export async function fuzzAnswerPath(o: {
  offer: string;
  answer(offerSdp: string): Promise<AnsweredSession>;
  typed(err: unknown): boolean;
  runs: number;
}): Promise<{ answered: number; refused: number }> {
  const lines = o.offer.split('\r\n').filter(Boolean);
  const outcomes = { answered: 0, refused: 0 };
  const untyped = (what: string, err: unknown) =>
    `an untyped ${what}: ${(err as Error)?.stack ?? String(err)}`;
  await fc.assert(
    fc.asyncProperty(
      fc.array(sdpMutation, { minLength: 1, maxLength: 4 }),
      fc.array(hostileCandidate, { maxLength: 4 }),
      fc.array(sdpMutation, { minLength: 1, maxLength: 2 }),
      async (muts, candidates, restartMuts) => {
        const sdp = mutateSdp(lines, muts);
        let session: AnsweredSession;
        try {
          session = await settles(o.answer(sdp), 'the answer');
        } catch (err) {
          assert.ok(o.typed(err), `${untyped('refusal', err)}\noffer:\n${sdp}`);
          outcomes.refused++;
          return;
        }
        outcomes.answered++;
        try {
          for (const c of candidates)
            await session.addRemoteCandidate(c).catch((err: unknown) => {
              assert.ok(err instanceof Error, `a candidate refused with a non-Error: ${String(err)}`);
            });
          // A restart offer: new ICE credentials, mutated again.
          const restart = mutateSdp(sdp.split('\r\n').filter(Boolean), restartMuts).replace(
            /a=ice-ufrag:\S+/g,
            'a=ice-ufrag:rst1',
          );
          await settles(session.restart(restart), 'the ICE restart').catch((err: unknown) => {
            assert.ok(o.typed(err), untyped('ICE-restart refusal', err));
          });
        } finally {
          await settles(session.close(), 'the close');
        }
      },
    ),
    // The failing assertion's own message in the report (the test runner prints only the report).
    // FUZZ_SEED replays a reported run from its start (the endpoint's state builds up over a run).
    {
      numRuns: o.runs,
      includeErrorInReport: true,
      ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}),
    },
  );
  return outcomes;
}
