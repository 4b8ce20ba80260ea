// Video encoders: which ones this machine has, and the gst-launch fragment plus bitrate control for each.
//
// Choosing (STREAMER_ENCODER): `auto` takes the first usable of v4l2 (Raspberry Pi M2M), nvv4l2 (Jetson),
// va (vah264enc), vaapi (vaapih264enc), then x264 (software, always present with plugins-ugly). Naming one forces it,
// and start-up fails if it is missing. VP8 (STREAMER_VIDEO_CODEC=vp8, or an app offer that lists VP8 first) always
// uses libvpx's vp8enc: no hardware VP8 encoder is common on robots.
// "Usable" means the element exists (gst-inspect-1.0 --exists) and encodes two frames in a probe pipeline: a VA
// element can be installed on a machine without a GPU that exposes VA.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EncoderChoice, VideoCodecName } from '../config.js';

const run = promisify(execFile);

export type EncoderName = Exclude<EncoderChoice, 'auto'> | 'vp8';

export interface EncoderSettings {
  bitrateKbps: number;
  keyframeIntervalFrames: number;
  framerate: number;
}

export interface EncoderProfile {
  name: EncoderName;
  codec: VideoCodecName;
  element: string;
  /** raw I420 in -> encoded elementary stream out; the encoder element is named `venc`. */
  fragment(settings: EncoderSettings): string;
  /** How to change the bitrate while playing, or null when the element cannot. */
  bitrate: { property: string; toValue(kbps: number): number } | null;
  /** The encoder writes SPS/PPS before every IDR itself (the payloader must not add more). */
  inbandParameterSets: boolean;
}

const H264_CAPS = 'video/x-h264,profile=constrained-baseline,stream-format=byte-stream';

const encoderProfiles: Record<EncoderName, EncoderProfile> = {
  v4l2: {
    name: 'v4l2',
    codec: 'h264',
    element: 'v4l2h264enc',
    // Raspberry Pi M2M encoder; bitrate lives in extra-controls, which cannot be changed from JS (a GstStructure).
    fragment: (s) =>
      `v4l2h264enc name=venc extra-controls="controls,video_bitrate=${s.bitrateKbps * 1000},h264_i_frame_period=${s.keyframeIntervalFrames},repeat_sequence_header=1" ! ${H264_CAPS},level=(string)4`,
    bitrate: null,
    inbandParameterSets: false,
  },
  nvv4l2: {
    name: 'nvv4l2',
    codec: 'h264',
    element: 'nvv4l2h264enc',
    fragment: (s) =>
      `nvvidconv ! video/x-raw(memory:NVMM),format=I420 ! nvv4l2h264enc name=venc bitrate=${s.bitrateKbps * 1000} ` +
      `iframeinterval=${s.keyframeIntervalFrames} idrinterval=${s.keyframeIntervalFrames} insert-sps-pps=true profile=0 maxperf-enable=true ! ${H264_CAPS}`,
    bitrate: { property: 'bitrate', toValue: (kbps) => kbps * 1000 },
    inbandParameterSets: false,
  },
  va: {
    name: 'va',
    codec: 'h264',
    element: 'vah264enc',
    fragment: (s) =>
      `vah264enc name=venc rate-control=cbr bitrate=${s.bitrateKbps} key-int-max=${s.keyframeIntervalFrames} b-frames=0 ! ${H264_CAPS}`,
    bitrate: { property: 'bitrate', toValue: (kbps) => kbps },
    inbandParameterSets: false,
  },
  vaapi: {
    name: 'vaapi',
    codec: 'h264',
    element: 'vaapih264enc',
    fragment: (s) =>
      `vaapih264enc name=venc rate-control=cbr bitrate=${s.bitrateKbps} keyframe-period=${s.keyframeIntervalFrames} ! ${H264_CAPS}`,
    bitrate: { property: 'bitrate', toValue: (kbps) => kbps },
    inbandParameterSets: false,
  },
  x264: {
    name: 'x264',
    codec: 'h264',
    element: 'x264enc',
    fragment: (s) =>
      `x264enc name=venc tune=zerolatency speed-preset=ultrafast bitrate=${s.bitrateKbps} ` +
      `key-int-max=${s.keyframeIntervalFrames} vbv-buf-capacity=${Math.round(2000 / s.framerate)} ! ${H264_CAPS}`,
    bitrate: { property: 'bitrate', toValue: (kbps) => kbps },
    inbandParameterSets: true,
  },
  vp8: {
    name: 'vp8',
    codec: 'vp8',
    element: 'vp8enc',
    // cpu-used=14: libvpx's fastest real-time speed before the quality drop (measured, 1280x720, 1 Mbit/s CBR:
    // luma PSNR within 0.1 dB of cpu-used=8 on five test patterns; at 15 and 16 a moving zone plate lost 10 dB).
    // The encoder's latency per frame about halves (GStreamer's latency tracer, 720p moving patterns: p50 4.4-4.9
    // ms against 8.2-11.6 ms at 8, on this project's 2-core test machine).
    fragment: (s) =>
      `vp8enc name=venc deadline=1 cpu-used=14 end-usage=cbr lag-in-frames=0 error-resilient=partitions threads=2 ` +
      `target-bitrate=${s.bitrateKbps * 1000} keyframe-max-dist=${s.keyframeIntervalFrames}`,
    bitrate: { property: 'target-bitrate', toValue: (kbps) => kbps * 1000 },
    inbandParameterSets: false,
  },
};

const H264_ORDER: EncoderName[] = ['v4l2', 'nvv4l2', 'va', 'vaapi', 'x264'];

async function elementExists(element: string): Promise<boolean> {
  try {
    await run('gst-inspect-1.0', ['--exists', element], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function encodesInProbe(profile: EncoderProfile): Promise<boolean> {
  const settings = { bitrateKbps: 1000, keyframeIntervalFrames: 30, framerate: 30 };
  const description = `videotestsrc num-buffers=2 ! video/x-raw,width=320,height=240,framerate=30/1,format=I420 ! ${profile.fragment(settings)} ! fakesink`;
  try {
    // Through sh so quoted property values (extra-controls) split the way gst-launch expects.
    await run('sh', ['-c', `gst-launch-1.0 -q ${description}`], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

export interface EncoderDetection {
  /** Every H.264 encoder name found usable, in preference order. */
  usableH264: EncoderName[];
  h264: EncoderProfile;
  vp8: EncoderProfile | null;
}

export class EncoderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderUnavailableError';
  }
}

/** Finds the encoders to use; throws EncoderUnavailableError when a forced one is missing or none works. */
export async function detectEncoders(choice: EncoderChoice): Promise<EncoderDetection> {
  const candidates = choice === 'auto' ? H264_ORDER : [choice];
  const usable: EncoderName[] = [];
  for (const name of candidates) {
    const profile = encoderProfiles[name];
    // x264 is software: existence is enough, skip the probe to save start-up time.
    if ((await elementExists(profile.element)) && (name === 'x264' || (await encodesInProbe(profile))))
      usable.push(name);
    if (usable.length > 0 && choice === 'auto') break;
  }
  const first = usable[0];
  if (!first) {
    throw new EncoderUnavailableError(
      choice === 'auto'
        ? 'no H.264 encoder found (install gstreamer1.0-plugins-ugly for x264enc)'
        : `STREAMER_ENCODER=${choice}: ${encoderProfiles[choice].element} is missing or cannot encode on this machine`,
    );
  }
  const vp8 = (await elementExists('vp8enc')) ? encoderProfiles.vp8 : null;
  return { usableH264: usable, h264: encoderProfiles[first], vp8 };
}

/**
 * The RTP payloader for an encoded stream; payload type is rewritten per viewer by the transport.
 *
 * H.264 parameter sets: x264 already writes SPS/PPS in-band before every IDR, and with sliced threads (tune
 * zerolatency) an IDR picture is several slices. rtph264pay config-interval=-1 inserts SPS/PPS before every IDR
 * *slice*, so parameter sets landed between the slices of one picture; Chromium then failed the picture and asked
 * for a keyframe right after each one (measured: 2 PLIs a second on a clean loopback path, every keyframe answered
 * by another PLI; none with this fixed). Encoders that write SPS/PPS in-band get no insertion; the others keep it.
 */
export function videoPayloaderFragment(
  profile: Pick<EncoderProfile, 'codec' | 'inbandParameterSets'>,
): string {
  return profile.codec === 'h264'
    ? `rtph264pay config-interval=${profile.inbandParameterSets ? 0 : -1} pt=96 mtu=1200 aggregate-mode=zero-latency`
    : 'rtpvp8pay pt=97 mtu=1200 picture-id-mode=15-bit';
}

export const OPUS_ENCODE_FRAGMENT = 'opusenc bitrate=64000 frame-size=20 inband-fec=true ! rtpopuspay pt=111';
