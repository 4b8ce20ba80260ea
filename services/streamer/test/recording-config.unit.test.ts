import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RecordingConfigError,
  defaultRecordingConfig,
  loadRecordingConfig,
  recordingNeeds,
} from '../src/recording/recording-config.js';

test('recording settings: off by default, sizes with suffixes, every bad value named', () => {
  assert.deepEqual(loadRecordingConfig({}), defaultRecordingConfig);
  const c = loadRecordingConfig({
    STREAMER_RECORD_DIR: '/var/lib/robostream/recordings',
    STREAMER_RECORD_BLACKBOX_S: '600',
    STREAMER_RECORD_MAX_BYTES: '2G',
    STREAMER_RECORD_SEGMENT_BYTES: '32M',
    STREAMER_RECORD_CHUNK_BYTES: '256k',
    STREAMER_RECORD_GATEWAY_TAP: 'unix:/run/robostream/gateway.sock:/v1/tap',
  });
  assert.equal(c.maxBytes, 2 * 1024 ** 3);
  assert.equal(c.segmentBytes, 32 * 1024 ** 2);
  assert.equal(c.chunkBytes, 256 * 1024);
  assert.equal(c.blackboxSeconds, 600);
  assert.equal(c.gatewayTapUrl, 'unix:/run/robostream/gateway.sock:/v1/tap');

  assert.throws(
    () =>
      loadRecordingConfig({
        STREAMER_RECORD_DIR: '/r',
        STREAMER_RECORD_MAX_BYTES: 'lots',
        STREAMER_RECORD_SEGMENT_S: '0',
        STREAMER_RECORD_CHUNK_BYTES: '1k',
        STREAMER_RECORD_GATEWAY_TAP: 'ftp://gw/v1/tap',
      }),
    (err: unknown) => {
      assert.ok(err instanceof RecordingConfigError);
      const lines = err.problems.join('\n');
      for (const name of ['MAX_BYTES', 'SEGMENT_S', 'CHUNK_BYTES', 'GATEWAY_TAP'])
        assert.match(lines, new RegExp(`STREAMER_RECORD_${name}=`));
      assert.equal(err.problems.length, 4);
      return true;
    },
  );
  assert.throws(() => loadRecordingConfig({ STREAMER_RECORD_BLACKBOX_S: '60' }), /needs STREAMER_RECORD_DIR/);
  assert.throws(
    () => recordingNeeds({ ...defaultRecordingConfig, dir: '/r' }, { robotId: 'r1', appPublicKeyPem: null }),
    /STREAMER_APP_PUBLIC_KEY/,
  );
  assert.doesNotThrow(() => recordingNeeds(defaultRecordingConfig, { robotId: null, appPublicKeyPem: null }));
});
