// The first camera pipeline of a process is slow to start: GStreamer loads each plugin on first use (the clock
// overlay its fonts), and the encoder pages in its code and sets up its tables when the first frame comes. Measured
// on the 2-core machine: parse and play held the event loop 40-64 ms the first time and 5 ms after; the first RTP
// packet came 67-88 ms after play the first time and 30-55 ms after. In the compose stack the robot's first viewer
// paid all of it on the way to its answer and its first keyframe. Running the same chains once at start-up, fed
// with a few synthetic frames (no camera is opened), moves that cost out of the first session.
import type { Logger } from 'pino';
import type { GstAppSink } from './gst-native.js';
import { PipelineRunner } from './pipeline-runner.js';
import { RTP_APPSINK } from './source-pipeline.js';

/** Frames fed to each chain: the first encoded one is what is waited for; a few more let the encoder settle. */
export const WARM_UP_FRAMES = 3;

/**
 * Plays each description (ending in the RTP appsink) until its first packet, or an error, or `timeoutMs`, then
 * stops it. Never throws for a chain that fails: the camera's own pipeline reports its errors when it starts.
 * Returns how long it took in ms and how many chains produced a packet.
 */
export async function warmUpEncoders(
  descriptions: readonly string[],
  log: Logger,
  timeoutMs: number,
): Promise<{ ms: number; warmed: number }> {
  const t0 = performance.now();
  let warmed = 0;
  for (const [i, description] of descriptions.entries()) {
    const runner = new PipelineRunner(`warm-up/${i}`, description, log);
    try {
      runner.start();
      const sink = runner.element(RTP_APPSINK) as GstAppSink | undefined;
      if (!sink) throw new Error(`no appsink named ${RTP_APPSINK}`);
      if (await firstPacket(runner, sink, timeoutMs)) warmed++;
    } catch (err) {
      log.debug({ chain: i, err: (err as Error).message }, 'encoder warm-up chain failed');
    } finally {
      // Stopping flushes the appsink: a pull still waiting returns null and frees its thread.
      runner.stop();
    }
  }
  return { ms: performance.now() - t0, warmed };
}

function firstPacket(runner: PipelineRunner, sink: GstAppSink, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    runner.onError(() => done(false));
    sink.pull((buf) => done(buf !== null));
  });
}
