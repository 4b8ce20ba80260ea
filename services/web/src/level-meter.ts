/**
 * A level meter for one audio stream (the operator's microphone going out, the robot's audio coming in): the
 * RMS level of the last 100 ms in dBFS, drawn as a bar from -60 dBFS (empty) to 0 dBFS (full). The level is
 * also on the element (`data-db`) for tests and for assistive tools.
 */
import { h } from './dom.js';

const FLOOR_DB = -60;
const UPDATE_MS = 100;

let sharedContext: AudioContext | null = null;

export class LevelMeter {
  readonly el: HTMLElement;
  private readonly bar = h('span', { class: 'level-bar' });
  private source: MediaStreamAudioSourceNode | null = null;
  private analyser: AnalyserNode | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly samples = new Float32Array(4096);

  constructor(label: string, testId: string) {
    this.el = h(
      'span',
      { class: 'level', 'data-testid': testId, 'data-db': String(FLOOR_DB), title: label },
      h('span', { class: 'level-label small' }, label),
      h('span', { class: 'level-track' }, this.bar),
    );
  }

  /** Meters `stream` from now on; null stops (the bar empties). */
  attach(stream: MediaStream | null): void {
    this.detach();
    if (!stream || stream.getAudioTracks().length === 0) return this.render(FLOOR_DB);
    sharedContext ??= new AudioContext();
    const ctx = sharedContext;
    void ctx.resume().catch(() => undefined);
    this.source = ctx.createMediaStreamSource(stream);
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 4096;
    this.source.connect(this.analyser);
    this.timer = setInterval(() => this.sample(), UPDATE_MS);
  }

  detach(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.source?.disconnect();
    this.source = null;
    this.analyser = null;
    this.render(FLOOR_DB);
  }

  private sample(): void {
    const a = this.analyser;
    if (!a) return;
    a.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const v of this.samples) sum += v * v;
    const rms = Math.sqrt(sum / this.samples.length);
    this.render(Math.max(FLOOR_DB, 20 * Math.log10(Math.max(rms, 1e-9))));
  }

  private render(db: number): void {
    this.el.dataset['db'] = db.toFixed(1);
    this.bar.style.width = `${Math.round(((db - FLOOR_DB) / -FLOOR_DB) * 100)}%`;
  }
}
