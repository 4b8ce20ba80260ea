/** The per-camera stats overlay and the connection path badge. */
import { h, setText } from '../dom.js';
import type { MediaStats, VideoStats } from '../media-stats.js';

export function pathText(s: MediaStats): string {
  if (s.path === 'unknown') return 'no path yet';
  const pair = `${s.localType || '?'} ↔ ${s.remoteType || '?'}${s.protocol ? ` ${s.protocol}` : ''}`;
  return s.path === 'relayed' ? `relayed (TURN) · ${pair}` : `direct · ${pair}`;
}

export class StatsOverlay {
  readonly el = h('div', { class: 'stats-overlay', 'data-testid': 'stats' });

  /** `latencyMs`: capture on the robot to display here (FrameLatency), null when the page cannot tell. */
  update(s: MediaStats | null, v: VideoStats | undefined, latencyMs: number | null = null): void {
    if (!s) return setText(this.el, '');
    const rtt = s.rttMs === null ? '–' : `${s.rttMs.toFixed(0)} ms`;
    const lines = [
      `RTT ${rtt}${latencyMs === null ? '' : ` · latency ${Math.max(0, latencyMs).toFixed(0)} ms`}`,
      v ? `${(v.bitrateKbps / 1000).toFixed(2)} Mbps · ${v.fps.toFixed(0)} fps` : 'no video yet',
      v ? `${v.width}×${v.height} · loss ${v.lossPct.toFixed(1)}%` : '',
      s.path === 'relayed' ? 'RELAYED (TURN)' : s.path === 'direct' ? 'direct' : '',
    ].filter(Boolean);
    const text = lines.join('\n');
    setText(this.el, text);
    this.el.dataset['path'] = s.path;
    if (latencyMs === null) delete this.el.dataset['latencyMs'];
    else this.el.dataset['latencyMs'] = String(Math.round(latencyMs));
  }
}
