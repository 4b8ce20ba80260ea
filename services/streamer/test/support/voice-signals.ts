// The signals of the echo test and bench, and how their levels are measured.
//
// Far end (the console's fake microphone, a WAV file Chromium loops): a voice-like harmonic sound, f0 = 150 Hz and
// its harmonics up to 3 kHz at 1/k, in syllables of irregular length and spacing. Near end (the simulated
// room's person): bursts of a 1100 Hz tone, which sits between two harmonics of the far end. Levels are read in
// the frequency domain: the far end's harmonic lines in the received audio are its echo, the tone's line is the
// near-end talker; a time-domain cross-correlation with what the page sent confirms the echo is the page's own
// signal and gives its delay.
import { writeFileSync } from 'node:fs';

export const FAR_F0 = 150;
export const FAR_HARMONICS = 20;
export const NEAR_END_FREQUENCY = 1100;
/**
 * Far-end lines this close to the near-end tone are left out of the echo's level. The near-end talker's bursts
 * start and stop abruptly, so its tone spills into the neighbouring lines: measured with the room's echo path
 * muted, the 1050 Hz line alone held -49 dBFS, 24 dB under the echo without a canceller, which capped any
 * reading of echo reduction there and credited a canceller for ducking the talker. From 250 Hz away the spill is
 * -64 dBFS or less per line. Seventeen of the twenty lines (900, 1050 and 1200 Hz out), most of the far end's
 * energy, remain.
 */
export const NEAR_END_GUARD_HZ = 250;
/** Sample rate of what the page records and hands back (downsampled from 48 kHz; every signal is below 3.2 kHz). */
export const ANALYSIS_RATE = 16_000;

/**
 * The far-end signal, `seconds` long at 48 kHz, peak 0.5. Syllables of 150-270 ms and pauses of 80-200 ms in a
 * fixed pseudo-random order: a regular rhythm would let the envelope correlation lock onto the wrong syllable.
 */
export function farEndSignal(seconds: number, rate = 48_000): Float32Array {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const edge = 0.02 * rate;
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let peak = 0;
  let start = 0;
  while (start < n) {
    const syllable = Math.round((0.15 + 0.12 * next()) * rate);
    const pause = Math.round((0.08 + 0.12 * next()) * rate);
    for (let j = 0; j < syllable && start + j < n; j++) {
      const i = start + j;
      const gate = Math.min(1, j / edge, (syllable - j) / edge);
      let v = 0;
      // Fixed phases (k * k) keep the crest factor voice-like instead of one spike per period.
      for (let k = 1; k <= FAR_HARMONICS; k++)
        v += Math.sin((2 * Math.PI * FAR_F0 * k * i) / rate + k * k) / k;
      out[i] = v * gate;
      peak = Math.max(peak, Math.abs(out[i] ?? 0));
    }
    start += syllable + pause;
  }
  for (let i = 0; i < n; i++) out[i] = ((out[i] ?? 0) / peak) * 0.5;
  return out;
}

/** 16-bit mono PCM WAV. */
export function writeWav(path: string, samples: Float32Array, rate = 48_000): void {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++)
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((samples[i] ?? 0) * 32767))), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/** In-place iterative radix-2 FFT; re and im have a power-of-two length. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j] ?? 0, re[i] ?? 0];
      [im[i], im[j]] = [im[j] ?? 0, im[i] ?? 0];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = (re[b] ?? 0) * cr - (im[b] ?? 0) * ci;
        const ti = (re[b] ?? 0) * ci + (im[b] ?? 0) * cr;
        re[b] = (re[a] ?? 0) - tr;
        im[b] = (im[a] ?? 0) - ti;
        re[a] = (re[a] ?? 0) + tr;
        im[a] = (im[a] ?? 0) + ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

/** Averaged power spectrum (Welch, Hann windows of `size`, half overlap); bin i is i * rate / size Hz. */
export function powerSpectrum(x: Float32Array, size = 8192): Float64Array {
  const out = new Float64Array(size / 2);
  const win = new Float64Array(size);
  let wsum = 0;
  for (let i = 0; i < size; i++) {
    win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
    wsum += (win[i] ?? 0) ** 2;
  }
  let segments = 0;
  for (let start = 0; start + size <= x.length; start += size / 2) {
    const re = new Float64Array(size);
    const im = new Float64Array(size);
    for (let i = 0; i < size; i++) re[i] = (x[start + i] ?? 0) * (win[i] ?? 0);
    fft(re, im);
    for (let i = 0; i < size / 2; i++) out[i] = (out[i] ?? 0) + (re[i] ?? 0) ** 2 + (im[i] ?? 0) ** 2;
    segments++;
  }
  // Scaled so that summing every bin gives the mean square of the signal.
  for (let i = 0; i < out.length; i++) out[i] = ((out[i] ?? 0) * 2) / (Math.max(1, segments) * wsum * size);
  return out;
}

function linePower(spectrum: Float64Array, rate: number, freq: number, halfWidthHz: number): number {
  const size = spectrum.length * 2;
  const lo = Math.max(0, Math.floor(((freq - halfWidthHz) * size) / rate));
  const hi = Math.min(spectrum.length - 1, Math.ceil(((freq + halfWidthHz) * size) / rate));
  let p = 0;
  for (let i = lo; i <= hi; i++) p += spectrum[i] ?? 0;
  return p;
}

export const db = (power: number): number => 10 * Math.log10(Math.max(power, 1e-20));

export interface Levels {
  /** The far end's harmonic lines (but those within NEAR_END_GUARD_HZ of the near end), dBFS: in received audio, its echo. */
  farEndDb: number;
  /** The near-end tone's line (dBFS). */
  nearEndDb: number;
}

/** Far-end and near-end levels of a recording at ANALYSIS_RATE. */
export function levels(x: Float32Array, rate = ANALYSIS_RATE): Levels {
  const s = powerSpectrum(x);
  let far = 0;
  for (let k = 1; k <= FAR_HARMONICS; k++) {
    const f = FAR_F0 * k;
    if (Math.abs(f - NEAR_END_FREQUENCY) < NEAR_END_GUARD_HZ) continue;
    far += linePower(s, rate, f, 8);
  }
  return { farEndDb: db(far), nearEndDb: db(linePower(s, rate, NEAR_END_FREQUENCY, 20)) };
}

/**
 * Only the far end's harmonic lines (everything else zeroed in one whole-signal FFT): what is left of a received
 * recording is the echo, without the near-end talker whose bursts would blur the envelope.
 */
export function farEndLines(x: Float32Array, rate = ANALYSIS_RATE): Float32Array {
  let size = 1;
  while (size < x.length) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < x.length; i++) re[i] = x[i] ?? 0;
  fft(re, im);
  for (let i = 0; i < size; i++) {
    const f = (Math.min(i, size - i) * rate) / size;
    const k = Math.round(f / FAR_F0);
    const keep =
      k >= 1 &&
      k <= FAR_HARMONICS &&
      Math.abs(f - k * FAR_F0) < 8 &&
      Math.abs(k * FAR_F0 - NEAR_END_FREQUENCY) >= NEAR_END_GUARD_HZ;
    if (!keep) {
      re[i] = 0;
      im[i] = 0;
    }
  }
  // Inverse through conjugation: conj(FFT(conj(X))) / size.
  for (let i = 0; i < size; i++) im[i] = -(im[i] ?? 0);
  fft(re, im);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (re[i] ?? 0) / size;
  return out;
}

/**
 * The loudness envelope at 100 Hz (mean absolute value of each 10 ms). The syllables of the far end survive what a
 * call does to a waveform (Opus, the browser's jitter buffer stretching and shrinking time), so the echo is
 * found by correlating envelopes; waveforms stop lining up after the first stretch.
 */
export const ENVELOPE_RATE = 100;
export function envelope(x: Float32Array, rate = ANALYSIS_RATE): Float32Array {
  const block = rate / ENVELOPE_RATE;
  const out = new Float32Array(Math.floor(x.length / block));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let j = 0; j < block; j++) sum += Math.abs(x[i * block + j] ?? 0);
    out[i] = sum / block;
  }
  return out;
}

/**
 * How much of `sent` comes back in `received`: both are envelopes (ENVELOPE_RATE); each `windowS` window of
 * `received` is compared with `sent` at every delay up to `maxLagS` (normalized correlation, means removed), and
 * the median over windows of the best coefficient and its delay is returned (1: received is a scaled, delayed
 * copy). Per window, because the round trip here drifts by hundreds of milliseconds over a recording (the page's
 * fake microphone and the robot's clock are not one clock), which smears a single whole-recording correlation.
 */
export function echoCorrelation(
  sent: Float32Array,
  received: Float32Array,
  rate = ENVELOPE_RATE,
  maxLagS = 3,
  windowS = 2,
): { lagMs: number; coefficient: number } {
  const win = Math.round(windowS * rate);
  const maxLag = Math.round(maxLagS * rate);
  const best: { lag: number; c: number }[] = [];
  for (let start = maxLag; start + win <= received.length; start += win) {
    const r = received.subarray(start, start + win);
    const rm = r.reduce((a, v) => a + v, 0) / win;
    const rr = r.reduce((a, v) => a + (v - rm) ** 2, 0);
    let top = { lag: 0, c: 0 };
    for (let lag = 0; lag <= maxLag; lag++) {
      const sg = sent.subarray(start - lag, start - lag + win);
      const sm = sg.reduce((a, v) => a + v, 0) / win;
      let ss = 0;
      let sr = 0;
      for (let i = 0; i < win; i++) {
        const a = (sg[i] ?? 0) - sm;
        ss += a * a;
        sr += a * ((r[i] ?? 0) - rm);
      }
      const c = ss > 0 && rr > 0 ? sr / Math.sqrt(ss * rr) : 0;
      if (c > top.c) top = { lag, c };
    }
    best.push(top);
  }
  if (best.length === 0) return { lagMs: NaN, coefficient: 0 };
  best.sort((a, b) => a.c - b.c);
  const mid = best[Math.floor(best.length / 2)] ?? { lag: 0, c: 0 };
  return { lagMs: (mid.lag / rate) * 1000, coefficient: mid.c };
}
