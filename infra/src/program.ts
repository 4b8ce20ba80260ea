/**
 * The whole deployment from a validated config: network, secrets, TURN servers, signaling service. Returns the
 * stack outputs. index.ts is the Pulumi entry point; the unit tests call this directly under Pulumi mocks.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { RobostreamConfig } from './config.js';
import { Network } from './aws/network.js';
import { DeploymentSecrets } from './aws/secrets.js';
import { SignalingService } from './aws/signaling-service.js';
import { TurnServers } from './aws/turn-servers.js';

export interface RobostreamOutputs {
  /** Base URL of the signaling service (HTTPS on the configured domain). */
  signalingUrl: string;
  /** The websocket endpoint clients connect to. */
  signalingWebSocketUrl: string;
  /** TURN_URLS exactly as the signaling service takes it: comma-separated. */
  turnUrls: pulumi.Output<string>;
  turnPublicIps: pulumi.Output<string[]>;
  turnInstanceIds: pulumi.Output<string[]>;
  /** CloudWatch alarms per TURN server: STUN probe (also a failed boot) and EC2 status check. */
  turnAlarmNames: pulumi.Output<string[]>;
  /** Point the signaling domain here (CNAME or Route 53 alias). */
  albDnsName: pulumi.Output<string>;
  ecrRepositoryUrl: pulumi.Output<string>;
  turnSecretArn: pulumi.Output<string>;
  signingKeySecretArn: pulumi.Output<string>;
  /** Secrets this stack created empty: put values into them (docs/deploy-aws.md). */
  secretsToFill: pulumi.Output<string[]>;
  signalingImage: pulumi.Output<string> | string;
  ecsClusterName: pulumi.Output<string>;
  ecsServiceName: pulumi.Output<string> | string;
}

export function deployRobostream(cfg: RobostreamConfig): RobostreamOutputs {
  const region = aws.getRegionOutput().region;
  const network = new Network('robostream', cfg.network);
  const secrets = new DeploymentSecrets('robostream', cfg.secrets);
  const turn = new TurnServers('robostream-turn', {
    cfg: cfg.turn,
    region,
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    publicSubnetIds: network.publicSubnetIds,
    turnSecretArn: secrets.turnSecretArn,
  });
  const turnUrls = turn.urls.apply((urls) => urls.join(','));
  const signaling = new SignalingService('robostream-signaling', {
    cfg: cfg.signaling,
    region,
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    signingKeySecretArn: secrets.signingKeySecretArn,
    turnSecretArn: secrets.turnSecretArn,
    turnUrls,
    redisAuthToken: cfg.redisAuthToken,
  });
  return {
    signalingUrl: signaling.url,
    signalingWebSocketUrl: signaling.websocketUrl,
    turnUrls,
    turnPublicIps: turn.publicIps,
    turnInstanceIds: turn.instanceIds,
    turnAlarmNames: turn.alarmNames,
    albDnsName: signaling.albDnsName,
    ecrRepositoryUrl: signaling.repositoryUrl,
    turnSecretArn: secrets.turnSecretArn,
    signingKeySecretArn: secrets.signingKeySecretArn,
    secretsToFill: pulumi.all(secrets.toFill),
    signalingImage: signaling.image ?? 'none yet: set robostream:signaling.imageTag',
    ecsClusterName: signaling.clusterName,
    ecsServiceName: signaling.serviceName ?? 'none yet',
  };
}
