// The robot's voice path, as one GStreamer pipeline: the operators' decoded speech goes to the speaker through
// an echo probe (webrtcechoprobe), and the microphone goes through the voice processor (webrtcdsp: echo
// cancellation, noise suppression, gain control, voice activity) before Opus.
//
// Why one pipeline for both directions: webrtcdsp looks its probe up by name, process-wide, when it starts, and
// fails when there is none; and a probe that kept buffering speaker audio while no canceller read it would hand
// the canceller seconds-old far-end audio once one started. With the probe and the canceller made, started and
// stopped together, neither can happen. The operators' audio is decoded in their own sink pipelines (one per
// remote track, sinks.ts) and pushed into this pipeline's `speaker` appsrc as PCM (speaker-floor.ts).
//
// The canceller runs in delay-agnostic mode: it finds the speaker-to-microphone delay from the signals. Its
// timestamp mode needs speaker and microphone buffers on one clock with the sound cards' true latencies, which
// neither a sync=false speaker (what the streamer plays with) nor an arbitrary USB sound card gives; measured on
// the simulated room, the timestamp mode cancelled about 1 dB where the agnostic mode cancelled over 20.
import { audioOutputPresent } from './audio-output.js';
import type { AudioSinkChoice, AudioSourceConfig, StreamerConfig, VoiceFeature } from '../config.js';
import type { GstBusMessage } from './gst-native.js';
import { quoteValue } from './launch-syntax.js';

/** The PCM format of the voice path: what webrtcdsp accepts, mono because a robot has one microphone. */
export const VOICE_PCM_CAPS = 'audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1';
/** Bytes per second of VOICE_PCM_CAPS. */
export const VOICE_PCM_BYTES_PER_SECOND = 48000 * 2;
/** The appsrc the operators' PCM is pushed into. */
export const SPEAKER_APPSRC = 'speaker';
/** The voice processor element (for tests and the bench). */
export const VOICE_DSP = 'voice';

/** What the voice processor does, resolved from the settings and the devices. */
export interface VoiceSettings {
  /** The canceller works only when the robot plays the operators' audio and captures its microphone. */
  echoCancel: boolean;
  echoSuppression: StreamerConfig['echoSuppression'];
  noiseSuppression: boolean;
  gainControl: boolean;
  voiceActivity: boolean;
  /** The operators' audio plays in this pipeline (there is a speaker). */
  speaker: boolean;
}

/** Generated sound has no noise and a fixed level: `auto` turns suppression and gain control off for it. */
function resolve(feature: VoiceFeature, source: AudioSourceConfig): boolean {
  if (feature !== 'auto') return feature === 'on';
  return source.kind === 'alsa' || source.kind === 'pulse';
}

export function voiceSettings(config: StreamerConfig): VoiceSettings {
  const speaker = config.audioSink !== 'none';
  return {
    echoCancel: config.echoCancel && speaker,
    echoSuppression: config.echoSuppression,
    noiseSuppression: resolve(config.noiseSuppression, config.audioSource),
    gainControl: resolve(config.gainControl, config.audioSource),
    voiceActivity: config.voiceActivity,
    speaker,
  };
}

export function dspActive(s: VoiceSettings): boolean {
  return s.echoCancel || s.noiseSuppression || s.gainControl || s.voiceActivity;
}

function speakerElement(choice: AudioSinkChoice): string {
  switch (choice) {
    case 'auto':
      // No card and no sound server: nothing to play on, and a failing sink must not stop the microphone.
      return audioOutputPresent() ? 'autoaudiosink sync=false' : 'fakesink sync=false';
    case 'alsa':
      return 'alsasink sync=false';
    case 'pulse':
      return 'pulsesink sync=false';
    // Tests count what was decoded in the talkers' own pipelines; here the speaker only has to consume.
    case 'counting':
    case 'none':
      return 'fakesink sync=false';
  }
}

/** The microphone as VOICE_PCM_CAPS; the room needs the speaker's tee (`speakerout`), made by the caller. */
function microphone(source: Exclude<AudioSourceConfig, { kind: 'none' }>, speaker: boolean): string {
  const pcm = `audioconvert ! audioresample ! ${VOICE_PCM_CAPS}`;
  switch (source.kind) {
    case 'test':
      // A quiet tone: audible proof the audio path is live without being unpleasant.
      return `audiotestsrc is-live=true wave=sine freq=${source.frequency ?? 440} volume=0.2 ! ${pcm}`;
    case 'alsa':
      return `alsasrc${source.device ? ` device=${quoteValue(source.device)}` : ''} ! ${pcm}`;
    case 'pulse':
      return `pulsesrc${source.device ? ` device=${quoteValue(source.device)}` : ''} ! ${pcm}`;
    case 'room': {
      // Near end: tone bursts of 150 ms every 250 ms, a syllable rate, standing for a person next to the robot.
      // In 10 ms buffers, as a sound card captures (alsasrc's and pulsesrc's default period): webrtcdsp hands the
      // canceller every speaker block the probe holds each time a microphone block arrives, so microphone
      // blocks that come in bursts (audiotestsrc's default 1024 samples: two or three 10 ms blocks at once every
      // 21.3 ms) make the speaker audio's lead over the echo wobble by 10-20 ms, and the canceller's filter keeps
      // re-adapting: in the room alone, 9-18 dB of echo reduction with bursts against 25-38 dB without.
      const freq = source.nearEndFrequency ?? 1100;
      const nearEnd =
        `audiotestsrc is-live=true samplesperbuffer=480 wave=ticks freq=${freq} tick-interval=250000000 ` +
        `sine-periods-per-tick=${Math.max(1, Math.round(freq * 0.15))} volume=${source.nearEndVolume ?? 0.1} ! ` +
        `${pcm} ! room.sink_1`;
      // Echo: the speaker's output, attenuated, and delayed by a running-time offset on its mixer pad (the mixer
      // holds it that long before mixing it in, as the air between speaker and microphone would).
      const echo = speaker
        ? `speakerout. ! queue max-size-time=200000000 ! volume volume=${source.echoGain ?? 0.3} ! room.sink_0 `
        : '';
      const delay = speaker ? ` sink_0::offset=${(source.echoDelayMs ?? 50) * 1_000_000}` : '';
      return `${echo}${nearEnd} audiomixer name=room${delay} latency=20000000 ! ${VOICE_PCM_CAPS}`;
    }
  }
}

/**
 * The whole voice pipeline up to raw 48 kHz stereo, ending where `tail` (the encoder and appsink) follows.
 * `names.probe` must be unique in the process (webrtcdsp searches every probe of the process by name), and so
 * must `names.channel` (inter-element channels are process-wide).
 *
 * The speaker side plays like a sound card: the operators' PCM arrives in bursts (network, jitter buffer, the
 * JS hand-over), goes into an interaudiosink, and an interaudiosrc reads it back at the clock's pace, 10 ms at a
 * time, silence when there is none. The canceller's reference is taken after that, as steady as what a
 * loudspeaker plays, and paired with the microphone by timestamp (echoPairFragment).
 */
export function voicePipelineDescription(
  config: StreamerConfig,
  names: { probe: string; channel: string },
  tail: string,
): string | null {
  const source = config.audioSource;
  if (source.kind === 'none') return null;
  const s = voiceSettings(config);
  // A talker that stalls and bursts must not build latency up: the queue keeps at most 200 ms.
  const speaker = s.speaker
    ? `appsrc name=${SPEAKER_APPSRC} is-live=true do-timestamp=true format=time caps="${VOICE_PCM_CAPS}" ! ` +
      `queue max-size-time=200000000 max-size-buffers=0 max-size-bytes=0 leaky=downstream ! ` +
      // async=false: with nobody talking the appsrc sends nothing, and a sink waiting for its first buffer held the
      // whole pipeline out of PLAYING, so the robot's microphone sent nothing until an operator spoke.
      `interaudiosink channel=${names.channel} sync=false async=false ` +
      `interaudiosrc channel=${names.channel} buffer-time=200000000 latency-time=20000000 ` +
      `period-time=10000000 ! ${VOICE_PCM_CAPS} ! ` +
      `tee name=speakerout ! queue max-size-time=200000000 leaky=downstream ! audioconvert ! audioresample ! ` +
      `${speakerElement(config.audioSink)} `
    : '';
  const dsp = dspActive(s)
    ? `webrtcdsp name=${VOICE_DSP}${s.echoCancel ? ` probe=${names.probe}` : ''} echo-cancel=${s.echoCancel} ` +
      `echo-suppression-level=${s.echoSuppression} delay-agnostic=true extended-filter=true ` +
      `noise-suppression=${s.noiseSuppression} gain-control=${s.gainControl} ` +
      `voice-detection=${s.voiceActivity} voice-detection-frame-size-ms=30 ! `
    : '';
  const mic = microphone(source, s.speaker);
  const out = `${dsp}audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! ${tail}`;
  if (!s.echoCancel) return `${speaker}${mic} ! ${out}`;
  const pair = echoPairNames(names.probe);
  return (
    `${speaker}speakerout. ! queue max-size-time=200000000 leaky=downstream ! ${pair.reference} ` +
    `${mic} ! ${pair.microphone} ${echoPairFragment(names.probe, out)}`
  );
}

/** Where echoPairFragment takes its two inputs: the speaker's audio and the microphone's, both VOICE_PCM_CAPS. */
export function echoPairNames(probe: string): { reference: string; microphone: string } {
  const pair = pairElement(probe);
  return { reference: `${pair}.sink_0`, microphone: `${pair}.sink_1` };
}

/** The pairing's elements are named after the probe, which is unique in the process. */
const pairElement = (probe: string): string => `${probe}-pair`;

/**
 * The speaker's and the microphone's 10 ms blocks, paired by timestamp, then handed to the probe and to `rest`
 * (starting with webrtcdsp) one pair at a time, in one thread: the probe gets the speaker block for a moment, then
 * the canceller the microphone block of the same moment. webrtcdsp hands the canceller whatever the probe holds
 * when a microphone block comes; paired by arrival instead, a microphone that lags and then catches up (a loaded
 * CPU, a late capture thread) moved the speaker audio against its echo by 10-20 ms at a time and the canceller
 * kept re-adapting (see docs/streamer.md). The pairing adds about 10 ms to the microphone's way (measured by
 * bench/streamer/voice.ts); `latency` is how much longer a late input is waited for before the other goes on
 * alone (with silence in its place). `start-time-selection=first`: counting from zero, the live aggregator
 * sometimes gave up waiting before its inputs' formats had arrived and failed the pipeline ("not negotiated",
 * about one start in 25); from the first buffer, it waits for that.
 */
export function echoPairFragment(probe: string, rest: string): string {
  const pair = pairElement(probe);
  const split = `${probe}-split`;
  return (
    `audiointerleave name=${pair} latency=${ECHO_PAIR_WAIT_MS * 1_000_000} start-time-selection=first ! ` +
    `deinterleave name=${split} ` +
    `${split}.src_0 ! ${VOICE_PCM_CAPS} ! webrtcechoprobe name=${probe} ! fakesink sync=false async=false ` +
    `${split}.src_1 ! ${VOICE_PCM_CAPS} ! ${rest}`
  );
}

/** How long the pairing waits for a late speaker or microphone block. */
const ECHO_PAIR_WAIT_MS = 40;

/** Voice activity from webrtcdsp's bus messages (sent on every change of its decision). */
export function voiceActivityOf(msg: GstBusMessage): boolean | null {
  if (msg.name !== 'voice-activity' && msg.type !== 'voice-activity') return null;
  const v = msg['stream-has-voice'];
  return typeof v === 'boolean' ? v : null;
}
