/**
 * coturn on EC2: `count` Ubuntu 24.04 instances in the public subnets running the pinned upstream coturn image.
 * Each boots on its own network interface that already carries its Elastic IP (also coturn's external-ip), so the
 * boot script has internet access from its first command. The security group opens exactly the TURN listeners and
 * the relay range (SSH only from a configured CIDR; SSM Session Manager otherwise). IMDSv2 only, hop limit 1. The
 * instance role may read the TURN secret (and the TLS secret) and report the STUN probe metric, nothing else beyond
 * SSM's managed policy. Two alarms per server: the STUN probe (missing data counts as failing, so a boot that never
 * installed coturn alarms) and the EC2 status check.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { TurnConfig } from '../config.js';
import {
  renderTurnConfigScript,
  renderTurnUserData,
  TURN_PATHS,
  TURN_PROBE_METRIC,
} from '../coturn/boot-files.js';
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
  /** Per server: the STUN probe alarm and the EC2 status check alarm. */
  readonly alarmNames: pulumi.Output<string[]>;
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
    new aws.iam.RolePolicy(
      `${name}-put-probe-metric`,
      {
        role: role.id,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['cloudwatch:PutMetricData'],
              Resource: '*', // PutMetricData has no resource type: the condition limits it to the probe namespace
              Condition: { StringEquals: { 'cloudwatch:namespace': TURN_PROBE_METRIC.namespace } },
            },
          ],
        }),
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

    const alarmActions = cfg.alarmTopicArn ? [cfg.alarmTopicArn] : [];
    const servers = Array.from({ length: cfg.count }, (_, i) => {
      const serverName = `${name}-${i}`;
      // The interface and its Elastic IP exist before the instance: it boots with its public address in place
      // (apt, Docker's repository, the image registry and Secrets Manager all answer from the first command).
      const eni = new aws.ec2.NetworkInterface(
        `${serverName}-eni`,
        {
          subnetId: args.publicSubnetIds[i % args.publicSubnetIds.length]!,
          securityGroups: [sg.id],
          description: `coturn ${serverName}: carries its Elastic IP`,
          tags: { Name: serverName },
        },
        p,
      );
      const eip = new aws.ec2.Eip(
        `${serverName}-eip`,
        { domain: 'vpc', networkInterface: eni.id, tags: { Name: serverName } },
        p,
      );
      const userData = pulumi
        .all([eip.publicIp, configScript, args.region])
        .apply(([publicIp, script, region]) =>
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
            coturnImage: cfg.coturnImage,
            listeningPort,
            tls: Boolean(cfg.tlsSecretArn),
            region,
            serverName,
          }),
        );
      const instance = new aws.ec2.Instance(
        serverName,
        {
          ami: amiId,
          instanceType: cfg.instanceType,
          primaryNetworkInterface: { networkInterfaceId: eni.id },
          iamInstanceProfile: profile.name,
          keyName: cfg.sshCidr ? cfg.sshKeyName : undefined,
          userData,
          // cloud-init runs user data once: a changed config needs a fresh instance (on the same interface).
          userDataReplaceOnChange: true,
          metadataOptions: {
            httpEndpoint: 'enabled',
            httpTokens: 'required',
            httpPutResponseHopLimit: 1,
            instanceMetadataTags: 'disabled',
          },
          rootBlockDevice: { volumeType: 'gp3', volumeSize: 16, encrypted: true, deleteOnTermination: true },
          tags: { Name: serverName },
        },
        {
          parent: this,
          // Launched only once the Elastic IP sits on its interface.
          dependsOn: [eip],
          // A newer Ubuntu AMI must not replace running relays on an unrelated `pulumi up`; see docs for how to roll.
          ignoreChanges: cfg.amiId ? [] : ['ami'],
          // The interface belongs to one instance at a time: the old one goes before its replacement boots.
          deleteBeforeReplace: true,
        },
      );
      const probe = new aws.cloudwatch.MetricAlarm(
        `${serverName}-stun-probe`,
        {
          alarmDescription:
            `coturn on ${serverName} does not answer its STUN probe, or the probe never reported (boot failed: ` +
            'see /var/log/cloud-init-output.log; or the TURN secret has no value yet)',
          namespace: TURN_PROBE_METRIC.namespace,
          metricName: TURN_PROBE_METRIC.name,
          dimensions: { TurnServer: serverName },
          statistic: 'Minimum',
          period: 60,
          evaluationPeriods: 5,
          threshold: 1,
          comparisonOperator: 'LessThanThreshold',
          treatMissingData: 'breaching',
          alarmActions,
          okActions: alarmActions,
        },
        p,
      );
      const status = new aws.cloudwatch.MetricAlarm(
        `${serverName}-status-check`,
        {
          alarmDescription: `EC2 status check of ${serverName} fails (instance or host)`,
          namespace: 'AWS/EC2',
          metricName: 'StatusCheckFailed',
          dimensions: { InstanceId: instance.id },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 3,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'breaching',
          alarmActions,
          okActions: alarmActions,
        },
        p,
      );
      return { eip, instance, alarms: [probe.name, status.name] };
    });

    this.publicIps = pulumi.all(servers.map((s) => s.eip.publicIp));
    this.instanceIds = pulumi.all(servers.map((s) => s.instance.id));
    this.alarmNames = pulumi.all(servers.flatMap((s) => s.alarms));
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
