/**
 * An app reaching the gateway over WebRTC data channels, with werift in Node (for the benchmark): the contract's
 * flow (open a `gateway` session through signaling, both channels before the offer, trickle, auth first).
 */
import WebSocket from 'ws';
import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import { SignalingClient, type WebSocketCtor } from '@robostream/protocol/client';

export interface WeriftGatewayApp {
  signaling: SignalingClient;
  pc: RTCPeerConnection;
  reliable: RTCDataChannel;
  lossy: RTCDataChannel;
  close(): Promise<void>;
}

export async function openWeriftGatewayApp(o: {
  signalingUrl: string;
  token: string;
  robotId: string;
}): Promise<WeriftGatewayApp> {
  const signaling = new SignalingClient({
    url: o.signalingUrl,
    token: o.token,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    reconnect: false,
  });
  await signaling.connect();
  const sessionId = await signaling.openSession(o.robotId, 'gateway');
  const pc = new RTCPeerConnection({ iceServers: signaling.iceServers, bundlePolicy: 'max-bundle' });
  const reliable = pc.createDataChannel('gateway-reliable', { ordered: true });
  const lossy = pc.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 0 });
  pc.onIceCandidate.subscribe((c) => {
    if (c)
      signaling.sendCandidate(sessionId, {
        candidate: c.candidate,
        sdpMid: c.sdpMid ?? null,
        sdpMLineIndex: c.sdpMLineIndex ?? null,
      });
  });
  signaling.on('answer', (m) => {
    if (m.sessionId === sessionId) void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
  });
  signaling.on('candidate', (m) => {
    if (m.sessionId !== sessionId || !m.candidate.candidate) return;
    void pc.addIceCandidate({
      candidate: m.candidate.candidate,
      sdpMid: m.candidate.sdpMid ?? undefined,
      sdpMLineIndex: m.candidate.sdpMLineIndex ?? undefined,
    });
  });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  signaling.sendOffer(sessionId, pc.localDescription!.sdp);
  await Promise.all([reliable, lossy].map((dc) => dc.stateChanged.watch((s) => s === 'open', 20_000)));
  return {
    signaling,
    pc,
    reliable,
    lossy,
    async close() {
      signaling.closeSession(sessionId, 'bye');
      signaling.close();
      await pc.close();
    },
  };
}
