/** The robot's `voice` telemetry (the streamer on the robot's gateway), when the robot publishes it. */
import { VOICE_SERVICE, type VoiceTelemetry } from '@robostream/protocol/gateway';
import type { GatewayModel } from './gateway-model.js';

export function robotVoice(model: GatewayModel | undefined): VoiceTelemetry | null {
  const p = model?.services.get(VOICE_SERVICE)?.topics.get('')?.payload as
    Partial<VoiceTelemetry> | undefined;
  if (
    !p ||
    typeof p.speaking !== 'boolean' ||
    typeof p.echoCancel !== 'boolean' ||
    typeof p.detecting !== 'boolean'
  )
    return null;
  return { detecting: p.detecting, speaking: p.speaking, echoCancel: p.echoCancel };
}
