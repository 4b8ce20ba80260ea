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

/**
 * The flash stage of every test source: a videobalance right after videotestsrc, where a latency probe changes the
 * picture's brightness (setFlash, setFlashLuma). It changes the frame being pushed, like a camera's next exposure:
 * videotestsrc draws each frame one interval before its clock time, so changing the source's own colours shows one
 * frame later (33-67 ms after the change at 30 fps, measured, where a camera takes 0-33). Passthrough, so free,
 * until a probe uses it.
 */
export const FLASH_ELEMENT = 'flashstage';

/**
 * Makes the (black) background of a test source show as `luma` (0-255, BT.601 from RGB, as a page computes it from
 * the displayed picture). Returns false when the pipeline has no flash stage (a camera, or not running).
 */
export function setFlashLuma(element: GstElement | undefined, luma: number): boolean {
  if (!element) return false;
  // videobalance adds brightness x 256 to limited-range Y (measured); a viewer expands Y - 16 by 255/219.
  element.brightness = (Math.min(255, Math.max(0, luma)) * 219) / 255 / 256;
  return true;
}

/** The `flash` pattern's two states: a black field, or a bright one (luma 230). */
export function setFlash(element: GstElement | undefined, bright: boolean): boolean {
  return setFlashLuma(element, bright ? 230 : 0);
}

/** The text element of a test source with an `overlayFile` (see overlay-file.ts). */
export const OVERLAY_ELEMENT = 'fileoverlay';

/**
 * Raw I420 at the source's configured size and rate. With `warmUpFrames` the capture is that many synthetic frames,
 * as fast as they are made, followed by end of stream (encode-warm-up.ts): a test source draws them as it always
 * does; a camera is never opened, a test pattern stands in for it (through the same decoder for MJPEG).
 */
export function videoSourceFragment(source: VideoSourceConfig, warmUpFrames?: number): string {
  const g = videoGeometry(source);
  const raw = `video/x-raw,width=${g.width},height=${g.height},framerate=${g.framerate}/1`;
  // No videorate: every source below is asked for the configured rate in its own caps, and videorate holds each
  // frame until the next arrives (one frame interval, 33 ms at 30 fps, measured).
  const normalize = `videoconvert ! videoscale ! ${raw},format=I420`;
  const live = warmUpFrames === undefined ? 'is-live=true' : `num-buffers=${warmUpFrames}`;
  if (warmUpFrames !== undefined && source.kind !== 'test') {
    const decode = source.kind === 'v4l2' && source.format === 'mjpeg' ? 'jpegenc ! jpegdec ! ' : '';
    return `videotestsrc ${live} ! ${raw},format=I420 ! ${decode}${normalize}`;
  }
  switch (source.kind) {
    case 'test': {
      const overlay = source.overlayFile
        ? `textoverlay name=${OVERLAY_ELEMENT} text="" halignment=left valignment=bottom font-desc="Sans 20" ! `
        : '';
      const flash = `videobalance name=${FLASH_ELEMENT}`;
      // A black field a latency probe switches between dark and bright (setFlash), nothing drawn over it.
      if (source.pattern === 'flash')
        return (
          `videotestsrc ${live} pattern=solid-color foreground-color=0xff000000 ! ` +
          `${raw},format=I420 ! ${flash} ! ${overlay}${normalize}`
        );
      // A bouncing ball, or SMPTE bars scrolling sideways, plus a running clock: a viewer sees at once that it is live.
      const pattern =
        source.pattern === 'smpte' ? 'pattern=smpte horizontal-speed=4' : 'pattern=ball motion=sweep';
      return (
        `videotestsrc ${live} ${pattern} ! ${raw},format=I420 ! ${flash} ! ` +
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
