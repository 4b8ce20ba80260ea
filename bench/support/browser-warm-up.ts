/**
 * A browser's first WebRTC use costs Chromium a few hundred ms once per browser process, whichever robot it talks
 * to: its first peer connection and offer, the (fake) microphone's first capture, its first DTLS handshake, its
 * first video decoder and the first frame it presents. "Cold" in the first-frame benches is the robot's first viewer
 * after the robot starts, so before the cold run the browser makes one call to itself on a throwaway page: a canvas
 * as its camera (H.264 when it can send it, the codec the robot sends by default) and its microphone, answered in
 * the same page, until the first frame is presented. Its time is printed on its own.
 */
import type { BrowserContext } from 'playwright-core';

// Plain JavaScript handed to the page as is: tsx's esbuild would wrap named functions of a page.evaluate callback
// in a __name() call the page does not have.
const LOOPBACK_CALL = `(async () => {
  const t0 = performance.now();
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const g = canvas.getContext('2d');
  let n = 0;
  const paint = setInterval(() => {
    g.fillStyle = 'hsl(' + ((n++ * 37) % 360) + ',80%,50%)';
    g.fillRect(0, 0, 320, 240);
  }, 33);
  const camera = canvas.captureStream(30);
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const video = a.addTransceiver(camera.getVideoTracks()[0], { direction: 'sendonly' });
  const h264 = (RTCRtpSender.getCapabilities('video')?.codecs ?? []).filter((c) => /h264/i.test(c.mimeType));
  if (h264.length > 0) video.setCodecPreferences(h264);
  for (const track of mic.getTracks()) a.addTrack(track, mic);
  const el = document.createElement('video');
  el.muted = true;
  el.playsInline = true;
  document.body.append(el);
  const presented = new Promise((resolve) => {
    b.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      el.srcObject = new MediaStream([e.track]);
      el.play().catch(() => undefined);
      el.requestVideoFrameCallback(() => resolve(true));
    };
  });
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const ok = await Promise.race([presented, new Promise((r) => setTimeout(() => r(false), 10000))]);
  const ms = performance.now() - t0;
  clearInterval(paint);
  a.close();
  b.close();
  for (const track of [...mic.getTracks(), ...camera.getTracks()]) track.stop();
  if (!ok) throw new Error('the browser warm-up call presented no frame in 10 s');
  return ms;
})()`;

/** Runs the loopback call on a page of `origin` (a secure context, for the microphone); resolves with its ms. */
export async function warmBrowserWebRtc(context: BrowserContext, origin: string): Promise<number> {
  const page = await context.newPage();
  try {
    await page.goto(origin);
    return (await page.evaluate(LOOPBACK_CALL)) as number;
  } finally {
    await page.close();
  }
}
