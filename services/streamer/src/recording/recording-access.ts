// Who may do what with recordings: the one place to change when per-robot grants land (issue #13: `drive`).
// Today an app token that grants this robot may list and download recordings and start or stop an on-demand
// recording. Recording needs no more than watching because it shows nothing a viewer of the robot does not
// already see, the black box records anyway, and the control lock lives in the gateway (another process): tying
// recording to it would keep a safety observer from recording while someone else drives.
import { grantsRobot, type AppClaims } from '@robostream/protocol/auth';

export type RecordingAction = 'list' | 'download' | 'record';

export type RecordingAccess = { ok: true } | { ok: false; code: 'forbidden'; message: string };

export function mayUseRecordings(
  claims: AppClaims,
  robotId: string,
  action: RecordingAction,
): RecordingAccess {
  const access = grantsRobot(claims, robotId);
  if (!access.ok) return { ok: false, code: 'forbidden', message: `${access.message} (${action})` };
  return { ok: true };
}
