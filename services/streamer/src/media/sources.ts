// Capture fragments for gst-launch: each ends in raw video in one fixed format, so encoders need not care
// where the picture comes from (sound: voice-pipeline.ts).
import type { VideoSourceConfig } from '../config.js';
import type { GstElement } from './gst-native.js';
import { quoteValue } from './launch-syntax.js';

export interface VideoGeometry {
  width: number;
  height: number;
  framerate: number;
}

export function videoGeometry(source: VideoSourceConfig): VideoGeometry {
  return { width: source.width ?? 1280, height: source.height ?? 720, framerate: source.framerate ?? 30 };
}

/** The `flash` test pattern's source element and its two colours (ARGB; float-exact, as the binding sets floats). */
export const FLASH_ELEMENT = 'flashsrc';
const FLASH_DARK = 0xff000000;
const FLASH_BRIGHT = 0xffffff00;

/**
 * Switches a running `flash` pattern; the next captured frame shows it. Returns false when the pipeline has no
 * flash source (another pattern, or not running).
 */
export function setFlash(element: GstElement | undefined, bright: boolean): boolean {
  if (!element) return false;
  element['foreground-color'] = bright ? FLASH_BRIGHT : FLASH_DARK;
  return true;
}

/** The text element of a test source with an `overlayFile` (see overlay-file.ts). */
export const OVERLAY_ELEMENT = 'fileoverlay';

/** Raw I420 at the source's configured size and rate. */
export function videoSourceFragment(source: VideoSourceConfig): string {
  const g = videoGeometry(source);
  const raw = `video/x-raw,width=${g.width},height=${g.height},framerate=${g.framerate}/1`;
  // No videorate: every source below is asked for the configured rate in its own caps, and videorate holds each
  // frame until the next arrives (one frame interval, 33 ms at 30 fps, measured).
  const normalize = `videoconvert ! videoscale ! ${raw},format=I420`;
  switch (source.kind) {
    case 'test': {
      const overlay = source.overlayFile
        ? `textoverlay name=${OVERLAY_ELEMENT} text="" halignment=left valignment=bottom font-desc="Sans 20" ! `
        : '';
      // A solid field a latency probe switches between dark and bright (setFlash), nothing drawn over it.
      if (source.pattern === 'flash')
        return (
          `videotestsrc is-live=true name=${FLASH_ELEMENT} pattern=solid-color foreground-color=${FLASH_DARK} ! ` +
          `${raw},format=I420 ! ${overlay}${normalize}`
        );
      // A bouncing ball, or SMPTE bars scrolling sideways, plus a running clock: a viewer sees at once that it is live.
      const pattern =
        source.pattern === 'smpte' ? 'pattern=smpte horizontal-speed=4' : 'pattern=ball motion=sweep';
      return (
        `videotestsrc is-live=true ${pattern} ! ${raw},format=I420 ! ` +
        `timeoverlay halignment=right valignment=bottom font-desc="Sans 24" ! ${overlay}${normalize}`
      );
    }
    case 'v4l2':
      return source.format === 'mjpeg'
        ? `v4l2src device=${quoteValue(source.device)} ! image/jpeg,width=${g.width},height=${g.height},framerate=${g.framerate}/1 ! jpegdec ! ${normalize}`
        : `v4l2src device=${quoteValue(source.device)} ! ${raw} ! ${normalize}`;
    case 'libcamera': {
      const name = source.cameraName ? ` camera-name=${quoteValue(source.cameraName)}` : '';
      return `libcamerasrc${name} ! ${raw} ! ${normalize}`;
    }
  }
}
