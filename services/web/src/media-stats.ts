/** Turns RTCPeerConnection.getStats() into the figures an operator needs: RTT, bitrate, fps, loss, path. */
export interface VideoStats {
  mid: string;
  bitrateKbps: number;
  fps: number;
  width: number;
  height: number;
  framesDecoded: number;
  lossPct: number;
}

export interface MediaStats {
  rttMs: number | null;
  /** relayed: one end of the selected pair is a TURN relay candidate. */
  path: 'direct' | 'relayed' | 'unknown';
  localType: string;
  remoteType: string;
  protocol: string;
  videos: VideoStats[];
  audioKbps: number;
  audioLossPct: number;
  micKbps: number;
}

interface Prev {
  at: number;
  bytes: Map<string, number>;
}

type Rec = Record<string, unknown>;
const num = (r: Rec, k: string): number => (typeof r[k] === 'number' ? (r[k] as number) : 0);
const str = (r: Rec, k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : '');

function selectedPair(all: Map<string, Rec>): {
  pair?: Rec;
  localType: string;
  remoteType: string;
  protocol: string;
} {
  let pair: Rec | undefined;
  for (const s of all.values()) {
    if (s['type'] === 'transport' && str(s, 'selectedCandidatePairId'))
      pair = all.get(str(s, 'selectedCandidatePairId'));
  }
  if (!pair) {
    for (const s of all.values())
      if (s['type'] === 'candidate-pair' && s['nominated'] && s['state'] === 'succeeded') pair = s;
  }
  const local = pair ? all.get(str(pair, 'localCandidateId')) : undefined;
  const remote = pair ? all.get(str(pair, 'remoteCandidateId')) : undefined;
  return {
    ...(pair ? { pair } : {}),
    localType: local ? str(local, 'candidateType') : '',
    remoteType: remote ? str(remote, 'candidateType') : '',
    protocol: local ? str(local, 'protocol') : '',
  };
}

/** Whether this end of the selected candidate pair is a TURN relay (its allocation needs valid credentials). */
export async function relaysLocally(pc: RTCPeerConnection): Promise<boolean> {
  const all = new Map<string, Rec>();
  (await pc.getStats()).forEach((s: Rec) => all.set(str(s, 'id'), s));
  return selectedPair(all).localType === 'relay';
}

export class StatsSampler {
  private prev: Prev | null = null;

  constructor(private readonly pc: RTCPeerConnection) {}

  async sample(): Promise<MediaStats> {
    const report = await this.pc.getStats();
    const all = new Map<string, Rec>();
    report.forEach((s: Rec) => all.set(str(s, 'id'), s));
    const now = performance.now();
    const dt = this.prev ? (now - this.prev.at) / 1000 : 0;
    const bytes = new Map<string, number>();
    const rate = (key: string, total: number): number => {
      bytes.set(key, total);
      const before = this.prev?.bytes.get(key);
      return before === undefined || dt <= 0 ? 0 : Math.max(0, ((total - before) * 8) / dt / 1000);
    };

    const { pair, localType, remoteType, protocol } = selectedPair(all);

    const videos: VideoStats[] = [];
    let audioKbps = 0;
    let audioLossPct = 0;
    let micKbps = 0;
    for (const s of all.values()) {
      if (s['type'] === 'inbound-rtp') {
        const lost = num(s, 'packetsLost');
        const received = num(s, 'packetsReceived');
        const lossPct = lost + received > 0 ? (100 * lost) / (lost + received) : 0;
        const kbps = rate(str(s, 'id'), num(s, 'bytesReceived'));
        if (s['kind'] === 'video') {
          videos.push({
            mid: str(s, 'mid'),
            bitrateKbps: kbps,
            fps: num(s, 'framesPerSecond'),
            width: num(s, 'frameWidth'),
            height: num(s, 'frameHeight'),
            framesDecoded: num(s, 'framesDecoded'),
            lossPct,
          });
        } else if (s['kind'] === 'audio') {
          audioKbps = kbps;
          audioLossPct = lossPct;
        }
      } else if (s['type'] === 'outbound-rtp' && s['kind'] === 'audio') {
        micKbps = rate(str(s, 'id'), num(s, 'bytesSent'));
      }
    }
    this.prev = { at: now, bytes };
    const rtt =
      pair && typeof pair['currentRoundTripTime'] === 'number'
        ? (pair['currentRoundTripTime'] as number) * 1000
        : null;
    return {
      rttMs: rtt,
      path: !pair ? 'unknown' : localType === 'relay' || remoteType === 'relay' ? 'relayed' : 'direct',
      localType,
      remoteType,
      protocol,
      videos,
      audioKbps,
      audioLossPct,
      micKbps,
    };
  }
}
