// The robot end of the lab, run inside the robot namespace by robot-process.ts: the real streamer service
// (startStreamerService, cloud signaling, x264 1280x720@30) plus the flash of the glass-to-glass bench.
//
// The source is the streamer's own `ball` test pattern (a bar sweeping across the picture, ~1.4 Mbit/s of x264 at
// most) rather than `flash`: a solid colour costs x264 ~20 kbit/s, so no cap would ever bite. The flash is its
// background's brightness instead (the test sources' flash stage, applied to the frame being pushed as a camera's
// next exposure would be), stepped through four levels at irregular 350-650 ms gaps; the page maps a displayed
// level back to the flip that set it, unambiguously while the picture is less than three gaps late.
// Output: JSON lines on stdout: {type:"ready"}, {type:"flip",level,atEpochMs}, {type:"target",kbps,atEpochMs}.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { detectEncoders, loadConfig } from '@robostream/streamer';
import {
  FLASH_ELEMENT,
  loadServiceConfig,
  setFlashLuma,
  startStreamerService,
  type GstElement,
} from '@robostream/streamer/service';
import { FLASH_LEVELS_LUMA } from './flash-levels.js';

const emit = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const now = (): number => performance.timeOrigin + performance.now();

const streamer = await startStreamerService(
  loadServiceConfig(process.env),
  loadConfig(process.env, {
    videoSources: [{ id: 'front', kind: 'test', pattern: 'ball', width: 1280, height: 720, framerate: 30 }],
    audioSource: { kind: 'none' },
    audioSink: 'none',
    videoSink: 'none',
  }),
  {
    log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)),
    encoders: await detectEncoders('auto'),
    defaultMetrics: false,
  },
);

/** The running video source's flash stage. */
function flashElement(): { element: GstElement; encoder: () => number | null } | null {
  const pipeline = streamer.core.sourcePipelines().find((p) => p.key.startsWith('video/front/') && p.running);
  const element = pipeline?.element(FLASH_ELEMENT);
  return pipeline && element ? { element, encoder: () => pipeline.snapshot().bitrateKbps } : null;
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void streamer.close().finally(() => process.exit(0));
  });

emit({ type: 'ready' });

let level = 0;
let nextFlip = now() + 500;
let tick = 0;
while (!stopping) {
  await sleep(25);
  const source = flashElement();
  if (!source) continue;
  if (tick++ % 10 === 0) emit({ type: 'target', kbps: source.encoder(), atEpochMs: now() });
  if (now() < nextFlip) continue;
  level = (level + 1) % FLASH_LEVELS_LUMA.length;
  // The next captured frame shows it: the stamp is taken where the glass-to-glass bench takes it.
  setFlashLuma(source.element, FLASH_LEVELS_LUMA[level]!);
  emit({ type: 'flip', level, atEpochMs: now() });
  nextFlip = now() + 350 + Math.random() * 300;
}
