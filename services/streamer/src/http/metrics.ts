// Prometheus metrics of the streamer. Per-session gauges are refreshed by the stats reporter (every interval);
// counts that are cheap to read (viewers, encoders, keyframes) are read from the core at scrape time.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamerCore } from '../core/streamer-core.js';
import type { ViewerStats } from '../core/viewer-session.js';

export class StreamerMetrics {
  readonly registry = new Registry();
  private readonly bitrate: Gauge;
  private readonly fps: Gauge;
  private readonly loss: Gauge;
  private readonly rtt: Gauge;
  private readonly candidate: Gauge;
  private readonly appPackets: Gauge;
  private readonly appDecoded: Gauge;
  readonly iceRestartsRequested: Counter;

  constructor(core: StreamerCore, defaultMetrics = true) {
    const registers = [this.registry];
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'streamer_viewers',
      help: 'Open viewer sessions (peer connections)',
      registers,
      collect() {
        this.set(core.viewers().length);
      },
    });
    new Gauge({
      name: 'streamer_video_encoders_running',
      help: 'Video capture+encode pipelines running (shared by the viewers of one camera and codec)',
      registers,
      collect() {
        this.set(core.introspect().runningVideoEncoders);
      },
    });
    let keyframesSeen = 0;
    new Counter({
      name: 'streamer_keyframes_forced_total',
      help: 'Keyframes forced on the encoders (connects, PLI/FIR, after a path recovers)',
      registers,
      collect() {
        const total = core.introspect().pipelines.reduce((n, p) => n + p.forcedKeyUnits, 0);
        // Pipeline counters are kept across restarts of a pipeline, so the sum only grows.
        if (total > keyframesSeen) this.inc(total - keyframesSeen);
        keyframesSeen = Math.max(keyframesSeen, total);
      },
    });
    this.bitrate = new Gauge({
      name: 'streamer_session_send_bitrate_kbps',
      help: 'Bitrate sent to a viewer over the last stats interval',
      labelNames: ['session', 'kind', 'source'],
      registers,
    });
    this.fps = new Gauge({
      name: 'streamer_session_send_fps',
      help: 'Video frames per second sent to a viewer over the last stats interval',
      labelNames: ['session', 'source'],
      registers,
    });
    this.loss = new Gauge({
      name: 'streamer_session_fraction_lost',
      help: "Fraction of packets lost, from the viewer's last receiver report",
      labelNames: ['session', 'kind'],
      registers,
    });
    this.rtt = new Gauge({
      name: 'streamer_session_rtt_ms',
      help: 'Round-trip time to a viewer (selected candidate pair, else RTCP)',
      labelNames: ['session'],
      registers,
    });
    this.candidate = new Gauge({
      name: 'streamer_session_candidate',
      help: 'Selected candidate pair types of a viewer (1 for the current pair): host, srflx, prflx, relay',
      labelNames: ['session', 'local', 'remote'],
      registers,
    });
    this.appPackets = new Gauge({
      name: 'streamer_session_app_packets_received',
      help: "RTP packets received from a viewer's app (its microphone or camera) since the session began",
      labelNames: ['session', 'kind'],
      registers,
    });
    this.appDecoded = new Gauge({
      name: 'streamer_session_app_buffers_decoded',
      help: "Buffers decoded from a viewer's app media since the session began (counting sinks only)",
      labelNames: ['session', 'kind'],
      registers,
    });
    this.iceRestartsRequested = new Counter({
      name: 'streamer_ice_restarts_requested_total',
      help: 'ICE restarts the robot asked apps for (a viewer disconnected or failed)',
      registers,
    });
  }

  /** Replaces every per-session series with the given stats (sessions that ended disappear). */
  update(stats: ViewerStats[]): void {
    for (const g of [
      this.bitrate,
      this.fps,
      this.loss,
      this.rtt,
      this.candidate,
      this.appPackets,
      this.appDecoded,
    ])
      g.reset();
    for (const s of stats) {
      for (const send of s.send) {
        this.bitrate.set({ session: s.id, kind: send.kind, source: send.sourceId }, send.bitrateKbps);
        if (send.kind === 'video')
          this.fps.set({ session: s.id, source: send.sourceId }, send.framesPerSecond);
      }
      for (const sink of s.sinks) {
        this.appPackets.set({ session: s.id, kind: sink.kind }, sink.packetsIn);
        if (sink.decodedBuffers !== null)
          this.appDecoded.set({ session: s.id, kind: sink.kind }, sink.decodedBuffers);
      }
      for (const out of s.transport.outbound)
        if (out.fractionLost !== null) this.loss.set({ session: s.id, kind: out.kind }, out.fractionLost);
      if (s.transport.roundTripTimeMs !== null) this.rtt.set({ session: s.id }, s.transport.roundTripTimeMs);
      this.candidate.set(
        {
          session: s.id,
          local: s.transport.localCandidateType ?? 'none',
          remote: s.transport.remoteCandidateType ?? 'none',
        },
        1,
      );
    }
  }
}
