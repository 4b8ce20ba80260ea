// werift's getStats report mapped to the transport's own stats shape (the fields the streamer's metrics, logs
// and tests read).
import type { InboundStats, OutboundStats, PeerConnectionState, TransportStats } from '../peer-session.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function mapStats(
  report: Map<string, unknown>,
  midOfSsrc: (ssrc: number) => string | undefined,
  connectionState: PeerConnectionState,
): TransportStats {
  const all = [...report.values()] as Record<string, unknown>[];
  const byId = new Map(all.map((s) => [s.id as string, s]));
  const outbound: OutboundStats[] = [];
  const inbound: InboundStats[] = [];
  for (const s of all) {
    if (s.type === 'outbound-rtp') {
      const remote = all.find((r) => r.type === 'remote-inbound-rtp' && r.ssrc === s.ssrc);
      const rtt = num(remote?.roundTripTime);
      outbound.push({
        mid: midOfSsrc(s.ssrc as number) ?? String(s.mid ?? ''),
        kind: s.kind as 'audio' | 'video',
        packetsSent: num(s.packetsSent) ?? 0,
        bytesSent: num(s.bytesSent) ?? 0,
        fractionLost: num(remote?.fractionLost),
        roundTripTimeMs: rtt === null ? null : rtt * 1000,
      });
    } else if (s.type === 'inbound-rtp') {
      inbound.push({
        mid: String(s.mid ?? ''),
        kind: s.kind as 'audio' | 'video',
        packetsReceived: num(s.packetsReceived) ?? 0,
        bytesReceived: num(s.bytesReceived) ?? 0,
        packetsLost: num(s.packetsLost) ?? 0,
      });
    }
  }
  const pair =
    all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') ??
    all.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded');
  const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
  const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
  const pairRtt = num(pair?.currentRoundTripTime);
  return {
    connectionState,
    localCandidateType: (local?.candidateType as string | undefined) ?? null,
    remoteCandidateType: (remote?.candidateType as string | undefined) ?? null,
    roundTripTimeMs:
      pairRtt === null
        ? (outbound.find((o) => o.roundTripTimeMs !== null)?.roundTripTimeMs ?? null)
        : pairRtt * 1000,
    outbound,
    inbound,
    bandwidth: null,
  };
}
