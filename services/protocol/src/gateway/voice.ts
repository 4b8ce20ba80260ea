import { Type, type Static } from '@sinclair/typebox';

/**
 * The streamer's `voice` service on the gateway: its telemetry says whether someone is speaking near the robot
 * (voice activity on the robot's microphone) and whether the robot cancels the echo of what it plays, which
 * tells a console whether it must mute the robot while its operator talks.
 */
export const VOICE_SERVICE = 'voice';

export const VoiceTelemetry = Type.Object(
  {
    /** The voice processor runs on the microphone and detects voice. */
    detecting: Type.Boolean(),
    speaking: Type.Boolean(),
    /** The robot's echo canceller runs (robot microphone and speaker both in use). */
    echoCancel: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type VoiceTelemetry = Static<typeof VoiceTelemetry>;
