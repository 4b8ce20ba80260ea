/**
 * The peer connection of a media session, as the contract shapes it: one recvonly video per camera (in the order of
 * the robot's `cameras` list), one sendrecv audio (the operator's microphone, swapped in later with replaceTrack),
 * and optionally one sendonly video (the operator's camera to the robot's display). Built in one place for the
 * session itself and for the connection the console prepares ahead of a click (offer-preparer.ts).
 */

export interface MediaShape {
  cameras: string[];
  /** Add the sendonly video m-line so the operator's camera can be switched on later without renegotiation. */
  offerCamera: boolean;
}

export interface MediaPeer {
  pc: RTCPeerConnection;
  /** One per camera, in the shape's order. */
  videoTx: RTCRtpTransceiver[];
  audioTx: RTCRtpTransceiver;
  cameraTx: RTCRtpTransceiver | null;
}

/** Equal for shapes whose offers are interchangeable. */
export function shapeKey(shape: MediaShape): string {
  return JSON.stringify([shape.cameras, shape.offerCamera]);
}

export function buildMediaPeer(iceServers: RTCIceServer[], shape: MediaShape): MediaPeer {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  const videoTx = shape.cameras.map(() => pc.addTransceiver('video', { direction: 'recvonly' }));
  // sendrecv even while the mic is off: the robot prepares its receiver once, the track is swapped in later.
  const audioTx = pc.addTransceiver('audio', { direction: 'sendrecv' });
  const cameraTx = shape.offerCamera ? pc.addTransceiver('video', { direction: 'sendonly' }) : null;
  return { pc, videoTx, audioTx, cameraTx };
}
