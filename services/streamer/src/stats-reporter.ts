// Every interval: per-session stats into the metrics and one log line per session (what an operator greps when a
// viewer complains). It is the only caller of ViewerSession.stats(), whose rates cover the time since the last call.
import type { Logger } from 'pino';
import type { StreamerCore } from './core/streamer-core.js';
import type { StreamerMetrics } from './http/metrics.js';

export class StatsReporter {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly core: StreamerCore,
    private readonly metrics: StreamerMetrics,
    private readonly log: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
  }

  async report(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const stats = await this.core.viewerStats();
      this.metrics.update(stats);
      for (const s of stats) {
        const video = s.send.find((x) => x.kind === 'video');
        const audio = s.send.find((x) => x.kind === 'audio');
        const lost = s.transport.outbound.find((o) => o.kind === 'video')?.fractionLost ?? null;
        this.log.info(
          {
            session: s.id,
            state: s.state,
            codec: s.videoCodec,
            videoKbps: Math.round(video?.bitrateKbps ?? 0),
            fps: Math.round((video?.framesPerSecond ?? 0) * 10) / 10,
            estimateKbps: video?.estimateKbps ?? null,
            audioKbps: Math.round(audio?.bitrateKbps ?? 0),
            fractionLost: lost,
            rttMs: s.transport.roundTripTimeMs === null ? null : Math.round(s.transport.roundTripTimeMs),
            candidates: `${s.transport.localCandidateType ?? '?'}/${s.transport.remoteCandidateType ?? '?'}`,
            sinks: s.sinks.map((k) => `${k.kind}:${k.decodedBuffers}`).join(','),
          },
          'session stats',
        );
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'stats collection failed');
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
