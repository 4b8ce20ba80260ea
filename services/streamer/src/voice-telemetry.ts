// Voice activity on the robot's microphone, published on the robot gateway as the `voice` service's telemetry
// (STREAMER_GATEWAY_SERVICE_URL). The gateway is the robot's data hub: apps already see every service's
// telemetry there, with their grants, so the streamer joins it as one more local service instead of adding a
// second data path next to the media. Published on each change, and every second so a console that joins late
// (or a lost frame: telemetry is lossy) catches up.
import { ServiceClient } from '@robostream/gateway/client';
import { VOICE_SERVICE, type VoiceTelemetry } from '@robostream/protocol/gateway';
import type { VoiceActivity } from './media/voice-activity.js';

export const VOICE_TELEMETRY_PERIOD_MS = 1000;

export class VoiceTelemetryPublisher {
  private readonly client: ServiceClient;
  private readonly timer: NodeJS.Timeout;
  private readonly off: () => void;

  constructor(url: string, voice: VoiceActivity) {
    this.client = new ServiceClient({ url, service: VOICE_SERVICE });
    const publish = (): void => {
      const s = voice.snapshot();
      const payload: VoiceTelemetry = {
        detecting: s.enabled,
        speaking: s.speaking,
        echoCancel: s.echoCancel,
      };
      this.client.telemetry(payload);
    };
    this.client.on('welcome', publish);
    this.off = voice.onChange(publish);
    this.timer = setInterval(publish, VOICE_TELEMETRY_PERIOD_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.off();
    this.client.close();
  }
}
