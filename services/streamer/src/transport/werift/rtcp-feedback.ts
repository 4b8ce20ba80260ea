// RTCP from the app, read off the DTLS transport and routed to the robot's senders by SSRC. Read here rather than
// through werift's senders: once the app also sends audio, werift 0.24.4 routes the app's PLI to the audio
// receiver and sender.onPictureLossIndication never fires.
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  TransportWideCC,
  type RtcpPacket,
} from 'werift';
import { feedbackPackets, type FeedbackPacket } from '../congestion/transport-feedback.js';
import type { WeriftSendTrack } from './send-track.js';

const FIR_COUNT = 4;

export function routeRtcp(
  packet: RtcpPacket,
  sender: (ssrc: number) => WeriftSendTrack | undefined,
  onTransportFeedback: (packets: FeedbackPacket[]) => void,
): void {
  if (packet instanceof RtcpRrPacket || packet instanceof RtcpSrPacket) {
    for (const report of packet.reports) sender(report.ssrc)?.fire('loss', report.fractionLost / 256);
  } else if (packet instanceof RtcpTransportLayerFeedback) {
    if (packet.feedback instanceof TransportWideCC) onTransportFeedback(feedbackPackets(packet.feedback));
    else if (packet.feedback instanceof GenericNack)
      sender(packet.feedback.mediaSourceSsrc)?.fire('nack', packet.feedback.lost);
  } else if (packet instanceof RtcpPayloadSpecificFeedback) {
    const fb = packet.feedback;
    if (fb instanceof PictureLossIndication) sender(fb.mediaSsrc)?.fire('keyframe', 'pli');
    else if (fb instanceof ReceiverEstimatedMaxBitrate) {
      for (const ssrc of fb.ssrcFeedbacks) sender(ssrc)?.fire('remb', Number(fb.bitrate));
    } else if (fb.count === FIR_COUNT) {
      // werift does not export FullIntraRequest; its FCI entries name the SSRCs asked for a keyframe.
      const entries = (fb as unknown as { fir?: { ssrc: number }[] }).fir ?? [];
      for (const entry of entries) sender(entry.ssrc)?.fire('keyframe', 'fir');
    }
  }
}
