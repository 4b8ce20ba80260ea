/**
 * ElastiCache Redis for the signaling service's routing and presence: private subnets only, reachable only from
 * the service's security group, TLS in transit, encrypted at rest, AUTH token. The full rediss:// URL (with the
 * token) is written to a Secrets Manager secret that the ECS task reads as REDIS_URL.
 *
 * The token is the one secret this program handles itself: ElastiCache takes it as a resource input, so it sits
 * in the stack config and state, encrypted as a Pulumi secret (write-only inputs are stored the same way).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface SignalingRedisArgs {
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string>[];
  /** The only security group allowed to connect. */
  clientSecurityGroupId: pulumi.Input<string>;
  nodeType: string;
  replicas: number;
  authToken: pulumi.Output<string>;
}

export const REDIS_PORT = 6379;

export class SignalingRedis extends pulumi.ComponentResource {
  readonly securityGroupId: pulumi.Output<string>;
  /** Secrets Manager secret whose value is the rediss:// URL with the AUTH token. */
  readonly urlSecretArn: pulumi.Output<string>;

  constructor(name: string, args: SignalingRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('robostream:aws:SignalingRedis', name, {}, opts);
    const p = { parent: this };
    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: 'signaling Redis: reachable from the signaling tasks only',
        tags: { Name: `${name}-sg` },
      },
      p,
    );
    this.securityGroupId = sg.id;
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-in-signaling`,
      {
        securityGroupId: sg.id,
        ipProtocol: 'tcp',
        fromPort: REDIS_PORT,
        toPort: REDIS_PORT,
        referencedSecurityGroupId: args.clientSecurityGroupId,
        description: 'Redis from the signaling tasks',
      },
      p,
    );
    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { subnetIds: args.privateSubnetIds, description: 'robostream signaling Redis (private subnets)' },
      p,
    );
    const group = new aws.elasticache.ReplicationGroup(
      `${name}`,
      {
        description: 'robostream signaling: pub/sub routing and presence',
        engine: 'redis',
        engineVersion: '7.1',
        parameterGroupName: 'default.redis7',
        nodeType: args.nodeType,
        numCacheClusters: 1 + args.replicas,
        automaticFailoverEnabled: args.replicas > 0,
        multiAzEnabled: args.replicas > 0,
        port: REDIS_PORT,
        subnetGroupName: subnets.name,
        securityGroupIds: [sg.id],
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        authToken: args.authToken,
        autoMinorVersionUpgrade: true,
        snapshotRetentionLimit: 0, // routing and presence are ephemeral: nothing to restore
        applyImmediately: true,
      },
      p,
    );

    const urlSecret = new aws.secretsmanager.Secret(
      `${name}-url`,
      {
        name: `robostream/${pulumi.getStack()}/redis-url`,
        description: 'REDIS_URL for the signaling service (rediss:// with the AUTH token); written by Pulumi',
        recoveryWindowInDays: 0, // owned by this program: recreated on the next up if deleted
      },
      p,
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-url`,
      {
        secretId: urlSecret.id,
        secretString: pulumi.secret(
          pulumi
            .all([args.authToken, group.primaryEndpointAddress])
            .apply(([token, host]) => `rediss://:${encodeURIComponent(token)}@${host}:${REDIS_PORT}`),
        ),
      },
      p,
    );
    this.urlSecretArn = urlSecret.arn;
    this.registerOutputs({ urlSecretArn: this.urlSecretArn });
  }
}
