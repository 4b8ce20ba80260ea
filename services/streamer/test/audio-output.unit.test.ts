// When `auto` has something to play on: a card in /proc/asound/cards, or a PulseAudio/PipeWire server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audioOutputPresent, type AudioOutputProbe } from '../src/media/audio-output.js';

const probe = (
  cards: string | null,
  env: NodeJS.ProcessEnv = {},
  sockets: string[] = [],
): AudioOutputProbe => ({
  exists: (p) => sockets.includes(p),
  read: () => {
    if (cards === null) throw new Error('ENOENT');
    return cards;
  },
  env,
});

test('a sound card, a pulse server or its socket count; no card and no server do not', () => {
  assert.equal(audioOutputPresent(probe(' 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n')), true);
  assert.equal(audioOutputPresent(probe('--- no soundcards ---\n')), false);
  assert.equal(audioOutputPresent(probe(null)), false, 'no ALSA in the kernel (a container)');
  assert.equal(audioOutputPresent(probe(null, { PULSE_SERVER: 'unix:/run/pulse/native' })), true);
  assert.equal(
    audioOutputPresent(probe(null, { XDG_RUNTIME_DIR: '/run/user/1000' }, ['/run/user/1000/pulse/native'])),
    true,
  );
});
