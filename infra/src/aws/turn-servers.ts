/**
 * coturn on EC2: `count` Ubuntu 24.04 instances in the public subnets, each with an Elastic IP that is also
 * coturn's external-ip. The security group opens exactly the TURN listeners and the relay range (SSH only from a
 * configured CIDR; SSM Session Manager otherwise). IMDSv2 only, hop limit 1. The instance role may read the TURN
 * secret (and the TLS secret) and nothing else beyond SSM's managed policy.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { TurnConfig } from '../config.js';
import { renderTurnConfigScript, renderTurnUserData, TURN_PATHS } from '../coturn/boot-files.js';
import { renderTurnServerConf, TURN_DEFAULTS } from '../coturn/turnserver-conf.js';
import { turnUrls } from '../turn-urls.js';

export interface TurnServersArgs {
  cfg: TurnConfig;
  region: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  publicSubnetIds: pulumi.Input<string>[];
  turnSecretArn: pulumi.Input<string>;
}

/** Canonical's AWS account: the owner of the official Ubuntu AMIs. */
const CANONICAL = '099720109477';

export class TurnServers extends pulumi.ComponentResource {
  readonly securityGroupId: pulumi.Output<string>;
  readonly publicIps: pulumi.Output<string[]>;
  readonly instanceIds: pulumi.Output<string[]>;
  /** The TURN_URLS list, in order: per server udp then tcp, then turns: when TLS is configured. */
  readonly urls: pulumi.Output<string[]>;

  constructor(name: string, args: TurnServersArgs, opts?: pulumi.ComponentResourceOptions) {
    super('robostream:aws:TurnServers', name, {}, opts);
    const p = { parent: this };
    const { cfg } = args;
    const tlsPort = TURN_DEFAULTS.tlsPort;
    const listeningPort = TURN_DEFAULTS.listeningPort;

    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: 'coturn: TURN listeners and relay ports',
        tags: { Name: `${name}-sg` },
      },
      p,
    );
    this.securityGroupId = sg.id;
    const ingress = (
      id: string,
      protocol: 'udp' | 'tcp',
      from: number,
      to: number,
      cidr: string,
      what: string,
    ) =>
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-in-${id}`,
        {
          securityGroupId: sg.id,
          ipProtocol: protocol,
          fromPort: from,
          toPort: to,
          cidrIpv4: cidr,
          description: what,
        },
        p,
      );
    ingress('turn-udp', 'udp', listeningPort, listeningPort, '0.0.0.0/0', 'TURN over UDP');
    ingress('turn-tcp', 'tcp', listeningPort, listeningPort, '0.0.0.0/0', 'TURN over TCP');
    if (cfg.tlsSecretArn) ingress('turns-tcp', 'tcp', tlsPort, tlsPort, '0.0.0.0/0', 'TURN over TLS');
    ingress('relay-udp', 'udp', cfg.relayPortMin, cfg.relayPortMax, '0.0.0.0/0', 'TURN relay ports');
    if (cfg.sshCidr) ingress('ssh', 'tcp', 22, 22, cfg.sshCidr, 'SSH from the configured admin range');
    // Relays reach peers anywhere on the internet; denied-peer-ip in turnserver.conf keeps them off private ranges.
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-out-all`,
      {
        securityGroupId: sg.id,
        ipProtocol: '-1',
        cidrIpv4: '0.0.0.0/0',
        description: 'relayed media, apt, AWS APIs',
      },
      p,
    );

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ec2.amazonaws.com' }),
        description: 'robostream coturn instances: SSM and reading the TURN secret',
      },
      p,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-ssm`,
      { role: role.name, policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
      p,
    );
    const readable = [args.turnSecretArn, ...(cfg.tlsSecretArn ? [cfg.tlsSecretArn] : [])];
    new aws.iam.RolePolicy(
      `${name}-read-secrets`,
      {
        role: role.id,
        policy: pulumi.all(readable).apply((arns) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arns }],
          }),
        ),
      },
      p,
    );
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name }, p);

    const amiId = cfg.amiId
      ? pulumi.output(cfg.amiId)
      : aws.ec2.getAmiOutput(
          {
            owners: [CANONICAL],
            mostRecent: true,
            filters: [
              {
                name: 'name',
                values: [
                  `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${cfg.architecture === 'arm64' ? 'arm64' : 'amd64'}-server-*`,
                ],
              },
              { name: 'architecture', values: [cfg.architecture] },
              { name: 'virtualization-type', values: ['hvm'] },
            ],
          },
          p,
        ).id;

    const configScript = pulumi.output(args.turnSecretArn).apply((turnSecretArn) =>
      pulumi.output(args.region).apply((region) =>
        renderTurnConfigScript({
          region,
          authSecretId: turnSecretArn,
          tls: cfg.tlsSecretArn
            ? { secretId: cfg.tlsSecretArn, certFile: TURN_PATHS.tlsCert, keyFile: TURN_PATHS.tlsKey }
            : undefined,
        }),
      ),
    );

    const servers = Array.from({ length: cfg.count }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-${i}-eip`, { domain: 'vpc', tags: { Name: `${name}-${i}` } }, p);
      const userData = pulumi.all([eip.publicIp, configScript]).apply(([publicIp, script]) =>
        renderTurnUserData({
          baseConf: renderTurnServerConf({
            realm: cfg.realm,
            listeningPort,
            tls: cfg.tlsSecretArn
              ? { port: tlsPort, certFile: TURN_PATHS.tlsCert, keyFile: TURN_PATHS.tlsKey }
              : undefined,
            relayPorts: { min: cfg.relayPortMin, max: cfg.relayPortMax },
            // One interface behind a 1:1 NAT (the EIP): coturn reports this address for every relay.
            externalIp: publicIp,
            extraDeniedPeerRanges: [
              { cidr: args.vpcCidr, kind: 'vpc', why: "this deployment's VPC (Redis, tasks)" },
            ],
            quotas: { userQuota: cfg.userQuota, totalQuota: cfg.totalQuota, maxBps: cfg.maxBps },
            staleNonceSec: cfg.staleNonceSec,
            authSecret: {
              source: 'appended-at-start',
              note: `${TURN_PATHS.configScript} appends them from Secrets Manager before each start`,
            },
            logFile: 'stdout',
          }),
          configScript: script,
        }),
      );
      const instance = new aws.ec2.Instance(
        `${name}-${i}`,
        {
          ami: amiId,
          instanceType: cfg.instanceType,
          subnetId: args.publicSubnetIds[i % args.publicSubnetIds.length]!,
          vpcSecurityGroupIds: [sg.id],
          iamInstanceProfile: profile.name,
          keyName: cfg.sshCidr ? cfg.sshKeyName : undefined,
          associatePublicIpAddress: false,
          userData,
          // cloud-init runs user data once: a changed config needs a fresh instance (the EIP moves over).
          userDataReplaceOnChange: true,
          metadataOptions: {
            httpEndpoint: 'enabled',
            httpTokens: 'required',
            httpPutResponseHopLimit: 1,
            instanceMetadataTags: 'disabled',
          },
          rootBlockDevice: { volumeType: 'gp3', volumeSize: 16, encrypted: true, deleteOnTermination: true },
          tags: { Name: `${name}-${i}` },
        },
        // A newer Ubuntu AMI must not replace running relays on an unrelated `pulumi up`; see docs for how to roll.
        { parent: this, ignoreChanges: cfg.amiId ? [] : ['ami'] },
      );
      new aws.ec2.EipAssociation(
        `${name}-${i}-eip`,
        { instanceId: instance.id, allocationId: eip.allocationId },
        p,
      );
      return { eip, instance };
    });

    this.publicIps = pulumi.all(servers.map((s) => s.eip.publicIp));
    this.instanceIds = pulumi.all(servers.map((s) => s.instance.id));
    this.urls = this.publicIps.apply((ips) =>
      turnUrls(
        ips,
        listeningPort,
        cfg.domain && cfg.tlsSecretArn ? { domain: cfg.domain, port: tlsPort } : undefined,
      ),
    );
    this.registerOutputs({ publicIps: this.publicIps, instanceIds: this.instanceIds, urls: this.urls });
  }
}
