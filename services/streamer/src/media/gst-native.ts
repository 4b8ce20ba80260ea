// Typed surface of the gstreamer-superficial native addon (it ships no type declarations).
// Only what the streamer uses is declared; docs/development.md says what was verified on the target machines.
import { createRequire } from 'node:module';

/** Properties of a GStreamer element are exposed as plain JS accessors; numbers are set as floats. */
export interface GstElement {
  [property: string]: unknown;
}

export interface GstAppSink extends GstElement {
  /** Resolves one sample; `buf` is null when the sink is flushing (pipeline stopped) or at end of stream. */
  pull(cb: (buf: Buffer | null, caps: Record<string, unknown>) => void): void;
}

export interface GstAppSrc extends GstElement {
  push(buf: Buffer): void;
}

export interface GstBusMessage {
  type: string;
  _src_element_name?: string;
  name?: string;
  message?: string;
  [field: string]: unknown;
}

export interface GstNativePipeline {
  play(): void;
  pause(): void;
  stop(): void;
  sendEOS(): void;
  forceKeyUnit(elementName: string, count: number): boolean;
  findChild(name: string): GstElement | undefined;
  pollBus(cb: (msg: GstBusMessage) => void): void;
  /** When true (GStreamer's default) the bus drops its messages once the pipeline is NULL. */
  'auto-flush-bus': boolean;
}

interface GstAddon {
  Pipeline: new (description: string) => GstNativePipeline;
}

const require = createRequire(import.meta.url);
const addon = require('gstreamer-superficial') as GstAddon;

/** Parses a gst-launch description; throws with GStreamer's own message when it does not parse. */
export function parseLaunch(description: string): GstNativePipeline {
  return new addon.Pipeline(description);
}
