// Whether this machine can play sound: a sound card ALSA knows (/proc/asound/cards lists one) or a PulseAudio /
// PipeWire server (PULSE_SERVER, or its socket under XDG_RUNTIME_DIR). The `auto` speaker needs to know: without
// one, GStreamer's autoaudiosink still picks a sink (OpenAL here) that fails once playing, and since the speaker
// shares its pipeline with the microphone (for the echo canceller), that failure took the robot's microphone down.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AudioOutputProbe {
  exists(path: string): boolean;
  read(path: string): string;
  env: NodeJS.ProcessEnv;
}

const systemProbe: AudioOutputProbe = {
  exists: existsSync,
  read: (p) => readFileSync(p, 'utf8'),
  env: process.env,
};

export function audioOutputPresent(probe: AudioOutputProbe = systemProbe): boolean {
  if (probe.env['PULSE_SERVER']) return true;
  const runtime = probe.env['XDG_RUNTIME_DIR'];
  if (runtime && probe.exists(join(runtime, 'pulse', 'native'))) return true;
  try {
    // "--- no soundcards ---" when there is none; otherwise one numbered line per card.
    return /^\s*\d+\s*\[/m.test(probe.read('/proc/asound/cards'));
  } catch {
    return false;
  }
}
