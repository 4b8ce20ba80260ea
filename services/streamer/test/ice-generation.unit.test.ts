import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oneIceGeneration } from '../src/transport/sdp.js';

// An ICE-restart offer as Chromium makes it when the robot rejected the audio section: the rejected section keeps
// the previous credentials.
const restartOffer = [
  'v=0',
  'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=ice-ufrag:NEW1',
  'a=ice-pwd:newpasswordnewpassword',
  'a=mid:0',
  'm=audio 0 UDP/TLS/RTP/SAVPF 111',
  'a=ice-ufrag:OLD1',
  'a=ice-pwd:oldpasswordoldpassword',
  'a=mid:1',
  '',
].join('\r\n');

test('every m-section gets the first section’s ICE credentials', () => {
  const out = oneIceGeneration(restartOffer);
  assert.deepEqual(out.match(/a=ice-ufrag:\S+/g), ['a=ice-ufrag:NEW1', 'a=ice-ufrag:NEW1']);
  assert.deepEqual(out.match(/a=ice-pwd:\S+/g), [
    'a=ice-pwd:newpasswordnewpassword',
    'a=ice-pwd:newpasswordnewpassword',
  ]);
  assert.equal(out.replace(/OLD1|oldpasswordoldpassword/g, '').length, out.length);
  // Nothing else changes.
  assert.equal(out.split('\r\n').length, restartOffer.split('\r\n').length);
});

test('an offer without ICE credentials is left alone', () => {
  const sdp = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
  assert.equal(oneIceGeneration(sdp), sdp);
});
