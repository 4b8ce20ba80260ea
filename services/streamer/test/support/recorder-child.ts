// A streamer core with the black box on, in a process of its own so a test can SIGKILL it mid-recording.
// argv: <dir> <chunkBytes>. Prints one JSON line per second: the files and bytes written so far.
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { StreamerCore } from '../../src/core/streamer-core.js';
import { Recorder } from '../../src/recording/recorder.js';
import { defaultRecordingConfig } from '../../src/recording/recording-config.js';

const [dir, chunk] = process.argv.slice(2);
if (!dir || !chunk) throw new Error('usage: recorder-child <dir> <chunkBytes>');
const log = pino({ level: 'warn' });
const core = await StreamerCore.start(
  loadConfig(
    {},
    {
      videoSources: [{ id: 'front', kind: 'test', pattern: 'ball', width: 640, height: 360, framerate: 30 }],
      audioSource: { kind: 'test', frequency: 440 },
      encoder: 'x264',
      lowLayerEnabled: false,
      keyframeIntervalFrames: 30,
    },
  ),
  { log },
);
const recorder = new Recorder(
  { ...defaultRecordingConfig, dir, blackboxSeconds: 600, chunkBytes: Number(chunk) },
  'crash-robot',
  core.recordingSources(),
  log,
);
await recorder.start();
setInterval(async () => {
  const files = await recorder.list();
  process.stdout.write(
    `${JSON.stringify({ files: files.map((f) => ({ name: f.name, bytes: f.bytes })) })}\n`,
  );
}, 1000);
