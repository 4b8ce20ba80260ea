/**
 * Pulumi entry point (Pulumi.yaml `main`): reads and validates the stack config, deploys, exports the outputs.
 */
import { loadConfig } from './config.js';
import { deployRobostream } from './program.js';

const out = deployRobostream(loadConfig());

export const signalingUrl = out.signalingUrl;
export const signalingWebSocketUrl = out.signalingWebSocketUrl;
export const turnUrls = out.turnUrls;
export const turnPublicIps = out.turnPublicIps;
export const turnInstanceIds = out.turnInstanceIds;
export const turnAlarmNames = out.turnAlarmNames;
export const albDnsName = out.albDnsName;
export const ecrRepositoryUrl = out.ecrRepositoryUrl;
export const turnSecretArn = out.turnSecretArn;
export const signingKeySecretArn = out.signingKeySecretArn;
export const secretsToFill = out.secretsToFill;
export const signalingImage = out.signalingImage;
export const ecsClusterName = out.ecsClusterName;
export const ecsServiceName = out.ecsServiceName;
