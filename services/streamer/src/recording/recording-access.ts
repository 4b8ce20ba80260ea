// Who may do what with recordings, by the token's grants on this robot:
//  - list and download need `view`: a recording holds what a viewer of the robot sees and hears, and the
//    telemetry and commands a viewer's console shows;
//  - starting or stopping an on-demand recording needs `drive` (the operator records their own session). The
//    black box records regardless, so a spectator or safety observer still gets the last minutes from it.
import { appMay, type AppClaims, type Grant } from '@robostream/protocol/auth';

export type RecordingAction = 'list' | 'download' | 'record';

export type RecordingAccess = { ok: true } | { ok: false; code: 'forbidden'; message: string };

const NEEDS: Record<RecordingAction, Grant> = { list: 'view', download: 'view', record: 'drive' };

export function mayUseRecordings(
  claims: AppClaims,
  robotId: string,
  action: RecordingAction,
): RecordingAccess {
  const grant = NEEDS[action];
  if (appMay(claims, robotId, grant)) return { ok: true };
  return {
    ok: false,
    code: 'forbidden',
    message: `this token does not grant ${grant} on robot ${robotId} (needed to ${action === 'record' ? 'start or stop a recording' : `${action} recordings`})`,
  };
}
