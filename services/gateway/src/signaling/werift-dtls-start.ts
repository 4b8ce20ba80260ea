// The DTLS handshake starts as soon as ICE has a pair, not 100 ms later.
//
// werift 0.24.4's RTCDtlsTransport.start(), when it is the DTLS client (it is whenever it answers an offer: the app
// offers actpass, werift takes the client role), waits a fixed 100 ms before it sends its ClientHello. The robot's
// endpoints (the streamer's media sessions and this gateway's data-channel sessions) always answer, so every session
// waited those 100 ms: in the streamer's first-frame bench ICE was connected 90 ms after openSession and DTLS 215 ms.
// The wait buys nothing here: werift's ICE agent is the controlled one, so by the time it has a pair the app has
// sent it connectivity checks with the answer's credentials, i.e. it has applied the answer and its DTLS server is
// listening. A ClientHello lost anyway is resent by werift's flight timer (500 ms), as before.
// Shared with the streamer (exported as @robostream/gateway/werift-dtls-start).
//
// So start() is wrapped on each transport: right after werift builds its DTLS client, connect() is called at once,
// and werift's own call 100 ms later gets the same handshake instead of a second one.
//
// With `atNomination` (media sessions), start() is also called as soon as ICE has nominated a pair. werift calls it
// when its ICE connect() returns, which notices the nomination only at the next turn of its check-scheduling loop
// (one every 20 ms): in the compose stack the ClientHello left 0-26 ms after the nomination (werift's own debug log,
// 10 sessions). werift's own call gets the same handshake. Not for data channels: werift then finds DTLS up when
// its ICE connect() returns and skips connecting SCTP (measured: the channel opened ~330 ms later).
import { DtlsClient } from 'werift';

/** The werift 0.24.4 RTCDtlsTransport parts this touches (its `dtls` field is not in its typings). */
export interface DtlsTransportInternals {
  start(): Promise<void>;
  dtls?: unknown;
  state?: string;
  iceTransport?: { connection?: IceConnectionInternals };
}

/** werift 0.24.4's ICE connection: checkComplete(pair) runs after every finished check and sets `nominated`. */
interface IceConnectionInternals {
  nominated?: unknown;
  checkComplete?: (pair: unknown) => void;
}

const wrapped = new WeakSet<object>();

/** Wraps `transport.start` once; false when the transport does not look like werift 0.24.4's (left alone). */
export function startDtlsAtOnce(transport: unknown, options: { atNomination?: boolean } = {}): boolean {
  const t = transport as Partial<DtlsTransportInternals> | null;
  if (!t || typeof t.start !== 'function') return false;
  if (wrapped.has(t)) return true;
  wrapped.add(t);
  const start = t.start.bind(t);
  let starting: Promise<void> | null = null;
  t.start = () =>
    (starting ??= (() => {
      const started = start(); // runs synchronously up to werift's 100 ms wait, with `dtls` built
      const client = t.dtls;
      if (client instanceof DtlsClient) {
        const connect = client.connect.bind(client);
        let handshake: Promise<void> | null = null;
        client.connect = () => (handshake ??= connect());
        // Failures reach werift through its own later call, which gets this same promise.
        client.connect().catch(() => undefined);
      }
      return started;
    })());
  const ice = t.iceTransport?.connection;
  const checkComplete = ice?.checkComplete;
  if (options.atNomination && ice && typeof checkComplete === 'function') {
    ice.checkComplete = (pair: unknown) => {
      const before = ice.nominated;
      checkComplete.call(ice, pair);
      // Only a first handshake: after an ICE restart DTLS is up already (not 'new').
      if (before === undefined && ice.nominated !== undefined && t.state === 'new')
        t.start?.().catch(() => undefined); // failures reach werift through its own call (same promise)
    };
  }
  return true;
}
