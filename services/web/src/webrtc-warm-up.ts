/**
 * A page builds its WebRTC machinery (the peer connection factory's threads, codec lists, the audio device) on its
 * first RTCPeerConnection and first offer: on a fresh page that took Chromium well over 100 ms, on the path from
 * the operator's click to the picture. One throwaway offer as soon as the page has started pays that up front. It
 * has the transceivers of a media session and is closed at once; setLocalDescription is never called, so nothing
 * is gathered and nothing leaves the page.
 */
export function warmUpWebRtc(): void {
  if (typeof RTCPeerConnection === 'undefined') return; // no WebRTC: the session will say so when opened
  const run = async (): Promise<void> => {
    const pc = new RTCPeerConnection();
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      await pc.createOffer();
    } catch {
      // Only a head start: a failure here changes nothing for the real session.
    } finally {
      pc.close();
    }
  };
  // Right after the page's own start (an idle callback can wait until after the operator's first click).
  setTimeout(() => void run(), 0);
}
