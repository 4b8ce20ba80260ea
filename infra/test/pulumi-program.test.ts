/**
 * The Pulumi program under pulumi.runtime.setMocks (no CLI, no AWS): what it would create, read from the
 * resources it registers. Exact security group rules, no SSH from the internet, IMDSv2, no secret in user data or
 * outputs, Redis private, ALB idle timeout, well-formed outputs.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as pulumi from '@pulumi/pulumi';
import {
  AMI_ID,
  installMocks,
  isSecretInput,
  ofType,
  one,
  plain,
  record,
  valueOf,
  type Recorded,
} from './support/pulumi-mocks.js';
import { parseConfig, type RobostreamConfig } from '../src/config.js';
import { deployRobostream, type RobostreamOutputs } from '../src/program.js';

const REDIS_TOKEN = 'SENTINEL-redis-auth-token-0123456789';
const TLS_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:turn-tls-AbCdEf';
const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc';

type Raw = Record<string, unknown>;
function config(o: { network?: Raw; turn?: Raw; signaling?: Raw; secrets?: Raw } = {}): RobostreamConfig {
  return parseConfig({
    network: o.network ?? {},
    turn: {
      count: 2,
      realm: 'turn.example.com',
      domain: 'turn.example.com',
      tlsSecretArn: TLS_ARN,
      ...o.turn,
    },
    signaling: { domain: 'signal.example.com', certificateArn: CERT_ARN, imageTag: 'v1.2.3', ...o.signaling },
    secrets: o.secrets ?? {},
    redisAuthToken: pulumi.secret(REDIS_TOKEN),
  });
}

interface Deployment {
  rs: Recorded[];
  calls: { token: string; inputs: Raw }[];
  out: RobostreamOutputs;
  outputs: Record<string, unknown>;
}

async function deploy(cfg: RobostreamConfig): Promise<Deployment> {
  const { result: out, resources: rs, calls } = await record(() => deployRobostream(cfg));
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) outputs[k] = await valueOf(v as pulumi.Output<unknown>);
  return { rs, calls, out, outputs };
}

interface Rule {
  kind: 'in' | 'out';
  protocol: string;
  from?: number;
  to?: number;
  peer: string;
}
function rulesOf(rs: Recorded[], sgId: string): Rule[] {
  const rule = (kind: 'in' | 'out') => (r: Recorded) => ({
    kind,
    protocol: String(r.inputs.ipProtocol),
    from: r.inputs.fromPort as number | undefined,
    to: r.inputs.toPort as number | undefined,
    peer: String(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6 ?? r.inputs.referencedSecurityGroupId),
  });
  const mine = (r: Recorded) => r.inputs.securityGroupId === sgId;
  return [
    ...ofType(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').filter(mine).map(rule('in')),
    ...ofType(rs, 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule').filter(mine).map(rule('out')),
  ].sort((a, b) => `${a.kind}${a.protocol}${a.from}`.localeCompare(`${b.kind}${b.protocol}${b.from}`));
}

const SG = 'aws:ec2/securityGroup:SecurityGroup';
const TURN_SG_ID = 'robostream-turn-sg-id';

function everyString(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => everyString(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => everyString(x, out));
  return out;
}

describe('the Pulumi program (mocked AWS)', () => {
  let d: Deployment;
  before(async () => {
    await installMocks();
    d = await deploy(config());
  });

  it('opens exactly TURN 3478 udp/tcp, TLS 443 tcp and the relay range udp on the TURN servers', () => {
    assert.ok(d.rs.some((r) => r.type === SG && r.id === TURN_SG_ID));
    assert.deepEqual(rulesOf(d.rs, TURN_SG_ID), [
      { kind: 'in', protocol: 'tcp', from: 3478, to: 3478, peer: '0.0.0.0/0' },
      { kind: 'in', protocol: 'tcp', from: 443, to: 443, peer: '0.0.0.0/0' },
      { kind: 'in', protocol: 'udp', from: 3478, to: 3478, peer: '0.0.0.0/0' },
      { kind: 'in', protocol: 'udp', from: 49152, to: 65535, peer: '0.0.0.0/0' },
      { kind: 'out', protocol: '-1', from: undefined, to: undefined, peer: '0.0.0.0/0' },
    ]);
  });

  it('has no inline rules on any security group (every rule is a resource the tests above can see)', () => {
    for (const sg of ofType(d.rs, SG)) {
      assert.equal(sg.inputs.ingress, undefined, sg.name);
      assert.equal(sg.inputs.egress, undefined, sg.name);
    }
  });

  it('runs one IMDSv2-only instance per configured count, booting on an interface that already has its Elastic IP', () => {
    const instances = ofType(d.rs, 'aws:ec2/instance:Instance');
    assert.equal(instances.length, 2);
    for (const [n, i] of instances.entries()) {
      assert.deepEqual(i.inputs.metadataOptions, {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: 'disabled',
      });
      assert.equal(i.inputs.ami, AMI_ID);
      assert.equal(i.inputs.instanceType, 't4g.small');
      assert.equal(i.inputs.keyName, undefined);
      assert.equal((i.inputs.rootBlockDevice as Raw).encrypted, true);
      // The interface carries subnet and security group; the Elastic IP is associated with the interface, not
      // with the instance after it runs.
      const eniName = `robostream-turn-${n}-eni`;
      assert.deepEqual(i.inputs.primaryNetworkInterface, { networkInterfaceId: `${eniName}-id` });
      assert.equal(i.inputs.subnetId, undefined);
      const eni = one(d.rs, 'aws:ec2/networkInterface:NetworkInterface', eniName);
      assert.deepEqual(eni.inputs.securityGroups, [TURN_SG_ID]);
      assert.equal(eni.inputs.subnetId, `robostream-public-${n}-id`);
      const eip = one(d.rs, 'aws:ec2/eip:Eip', `robostream-turn-${n}-eip`);
      assert.equal(eip.inputs.networkInterface, `${eniName}-id`);
    }
    assert.deepEqual(ofType(d.rs, 'aws:ec2/eipAssociation:EipAssociation'), []);
    // Each instance is registered only once its Elastic IP is (dependsOn; its user data needs the address too).
    const order = d.rs.map((r) => r.name);
    for (const n of [0, 1])
      assert.ok(order.indexOf(`robostream-turn-${n}-eip`) < order.indexOf(`robostream-turn-${n}`));
  });

  it('alarms per TURN server on a STUN probe that fails or never reports, and on the EC2 status check', () => {
    const alarms = ofType(d.rs, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    const probe = one(d.rs, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'robostream-turn-1-stun-probe');
    assert.equal(probe.inputs.namespace, 'Robostream/TURN');
    assert.equal(probe.inputs.metricName, 'StunProbeOk');
    assert.deepEqual(probe.inputs.dimensions, { TurnServer: 'robostream-turn-1' });
    assert.equal(probe.inputs.comparisonOperator, 'LessThanThreshold');
    assert.equal(probe.inputs.threshold, 1);
    // No data is what a boot that never installed coturn (or its probe) looks like.
    assert.equal(probe.inputs.treatMissingData, 'breaching');
    const status = one(d.rs, 'aws:cloudwatch/metricAlarm:MetricAlarm', 'robostream-turn-1-status-check');
    assert.equal(status.inputs.metricName, 'StatusCheckFailed');
    assert.deepEqual(status.inputs.dimensions, { InstanceId: 'robostream-turn-1-id' });
    assert.equal(alarms.length, 4);
    const policy = JSON.parse(
      String(one(d.rs, 'aws:iam/rolePolicy:RolePolicy', 'robostream-turn-put-probe-metric').inputs.policy),
    );
    assert.deepEqual(policy.Statement[0].Action, ['cloudwatch:PutMetricData']);
    assert.deepEqual(policy.Statement[0].Condition, {
      StringEquals: { 'cloudwatch:namespace': 'Robostream/TURN' },
    });
  });

  it('boots coturn from the pinned upstream image, retrying every download, with TLS on 443 and reloads', () => {
    const text = String(one(d.rs, 'aws:ec2/instance:Instance', 'robostream-turn-0').inputs.userData);
    assert.equal(spawnSync('bash', ['-n'], { input: text }).status, 0, 'valid bash');
    // No coturn from Ubuntu's universe; the upstream image pinned to one release build.
    assert.doesNotMatch(text, /apt-get[^\n]* install[^\n]*\bcoturn\b/);
    assert.match(text, /^retry docker pull coturn\/coturn:4\.7\.0-r4$/m);
    assert.match(text, /--network host .*coturn\/coturn:4\.7\.0-r4 -c \/etc\/coturn\/turnserver\.conf/);
    // Docker Engine from Docker's repository, its key checked against the published fingerprint.
    assert.match(text, /if \[ "\$fpr" != 9DC858229FC7DD38854AE2D88D81803C0EBFCD88 \]; then/);
    // Every network step retried, never a bare apt-get/curl/snap/pull under set -e.
    for (const line of text.split('\n')) {
      if (/^(apt-get|curl|snap|docker pull|"\$\{APT\[@\]\}")\b/.test(line.trim()))
        assert.fail(`unretried: ${line}`);
    }
    for (const step of ['"${APT[@]}" update', '"${APT[@]}" install', 'curl -fsSL', 'snap install aws-cli'])
      assert.ok(text.includes(`retry ${step}`), step);
    // TURN over TLS on 443, a twice-daily certificate refresh that reloads coturn with SIGUSR2 (relays stay up).
    assert.match(text, /^tls-listening-port=443$/m);
    assert.match(text, /--cap-add NET_BIND_SERVICE/);
    assert.match(text, /^ExecStart=\/usr\/local\/sbin\/robostream-turn-config --tls-only$/m);
    assert.match(text, /^OnUnitActiveSec=12h$/m);
    assert.match(text, /docker kill --signal=SIGUSR2 "\$CONTAINER"/);
    // The STUN probe reports every minute, started before coturn so that a stuck start is reported too.
    assert.match(text, /--metric-name StunProbeOk --dimensions TurnServer='robostream-turn-0'/);
    assert.ok(
      text.indexOf('enable --now robostream-turn-probe.timer') <
        text.indexOf('start --no-block robostream-coturn'),
    );
  });

  it('looks the AMI up: Canonical Ubuntu 24.04 for the instance type architecture', () => {
    const ami = d.calls.find((c) => c.token === 'aws:ec2/getAmi:getAmi');
    assert.ok(ami);
    assert.deepEqual(ami.inputs.owners, ['099720109477']);
    assert.match(JSON.stringify(ami.inputs.filters), /ubuntu-noble-24\.04-arm64-server-\*/);
  });

  it('writes a hardened turnserver.conf into user data, with no secret in it', () => {
    const instances = ofType(d.rs, 'aws:ec2/instance:Instance');
    assert.equal(instances.length, 2);
    instances.forEach((instance) => {
      const n = Number(/-(\d+)$/.exec(instance.name)![1]);
      const userData = instance.inputs.userData;
      assert.equal(isSecretInput(userData), false);
      const text = String(userData);
      assert.match(text, new RegExp(`^external-ip=198\\.51\\.100\\.${n + 1}$`, 'm'));
      for (const line of [
        'use-auth-secret',
        'realm=turn.example.com',
        'fingerprint',
        'no-multicast-peers',
        'no-cli',
        'stale-nonce=600',
        'user-quota=64',
        'total-quota=1200',
        'max-bps=3000000',
        'tls-listening-port=443',
        'cert=/etc/robostream/tls/fullchain.pem',
        'denied-peer-ip=169.254.0.0-169.254.255.255',
        'denied-peer-ip=127.0.0.0-127.255.255.255',
        'denied-peer-ip=100.64.0.0-100.127.255.255',
        'denied-peer-ip=224.0.0.0-239.255.255.255',
        'denied-peer-ip=10.42.0.0-10.42.255.255', // the VPC itself
        'min-port=49152',
        'max-port=65535',
      ]) {
        assert.match(text, new RegExp(`^${line.replaceAll('.', '\\.')}$`, 'm'), line);
      }
      assert.doesNotMatch(text, /allow-loopback-peers|allowed-peer-ip/);
      // The secret is fetched at start from Secrets Manager by ARN, never written here.
      assert.doesNotMatch(text, /^static-auth-secret=/m);
      assert.match(
        text,
        /AUTH_SECRET_ID='arn:aws:secretsmanager:eu-west-1:123456789012:secret:robostream\/test\/turn-secret-AbCdEf'/,
      );
      assert.match(text, /--region "\$REGION"/);
      assert.match(text, /^REGION='eu-west-1'$/m);
      assert.ok(!text.includes(REDIS_TOKEN));
    });
  });

  it('lets the instance role read only the TURN and TLS secrets', () => {
    const policy = JSON.parse(
      String(one(d.rs, 'aws:iam/rolePolicy:RolePolicy', 'robostream-turn-read-secrets').inputs.policy),
    );
    assert.deepEqual(policy.Statement, [
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:robostream/test/turn-secret-AbCdEf',
          TLS_ARN,
        ],
      },
    ]);
  });

  it('keeps the Redis token out of everything but ElastiCache and the REDIS_URL secret, marked secret there', () => {
    const holders = d.rs.filter((r) => everyString(r.inputs).some((s) => s.includes(REDIS_TOKEN)));
    assert.deepEqual(holders.map((r) => r.type).sort(), [
      'aws:elasticache/replicationGroup:ReplicationGroup',
      'aws:secretsmanager/secretVersion:SecretVersion',
    ]);
    const group = ofType(d.rs, 'aws:elasticache/replicationGroup:ReplicationGroup')[0]!;
    assert.ok(isSecretInput(group.inputs.authToken));
    const version = ofType(d.rs, 'aws:secretsmanager/secretVersion:SecretVersion')[0]!;
    assert.ok(isSecretInput(version.inputs.secretString));
    assert.match(
      String(plain(version.inputs.secretString)),
      /^rediss:\/\/:SENTINEL-redis-auth-token-0123456789@master\./,
    );
  });

  it('creates the TURN secret and signing key as empty containers: no value anywhere in the program', () => {
    const secrets = ofType(d.rs, 'aws:secretsmanager/secret:Secret')
      .map((s) => s.inputs.name)
      .sort();
    assert.deepEqual(secrets, [
      'robostream/test/redis-url',
      'robostream/test/signing-key',
      'robostream/test/turn-secret',
    ]);
    const versions = ofType(d.rs, 'aws:secretsmanager/secretVersion:SecretVersion');
    assert.equal(versions.length, 1, 'only the REDIS_URL secret gets a value from the program');
    assert.deepEqual(d.outputs.secretsToFill, ['robostream/test/turn-secret', 'robostream/test/signing-key']);
  });

  it('puts no secret into any output', () => {
    for (const [k, v] of Object.entries(d.outputs)) {
      assert.ok(!JSON.stringify(v).includes(REDIS_TOKEN), k);
      assert.ok(!JSON.stringify(v).includes('rediss://'), k);
    }
  });

  it('makes Redis reachable only from the signaling tasks, in private subnets, encrypted, with AUTH', () => {
    const group = ofType(d.rs, 'aws:elasticache/replicationGroup:ReplicationGroup')[0]!;
    assert.equal(group.inputs.transitEncryptionEnabled, true);
    assert.equal(group.inputs.atRestEncryptionEnabled, true);
    assert.equal(group.inputs.numCacheClusters, 2);
    assert.equal(group.inputs.automaticFailoverEnabled, true);
    const redisSg = 'robostream-signaling-redis-sg-id';
    assert.deepEqual(group.inputs.securityGroupIds, [redisSg]);
    assert.deepEqual(rulesOf(d.rs, redisSg), [
      { kind: 'in', protocol: 'tcp', from: 6379, to: 6379, peer: 'robostream-signaling-task-sg-id' },
    ]);
    const subnets = ofType(d.rs, 'aws:elasticache/subnetGroup:SubnetGroup')[0]!;
    assert.deepEqual(subnets.inputs.subnetIds, ['robostream-private-0-id', 'robostream-private-1-id']);
    for (const s of ofType(d.rs, 'aws:ec2/subnet:Subnet')) assert.equal(s.inputs.mapPublicIpOnLaunch, false);
  });

  it('limits the ALB and the tasks to HTTPS in, the ALB to the tasks, the tasks to Redis and HTTPS out', () => {
    assert.deepEqual(rulesOf(d.rs, 'robostream-signaling-alb-sg-id'), [
      { kind: 'in', protocol: 'tcp', from: 443, to: 443, peer: '0.0.0.0/0' },
      { kind: 'in', protocol: 'tcp', from: 80, to: 80, peer: '0.0.0.0/0' },
      { kind: 'out', protocol: 'tcp', from: 8080, to: 8080, peer: 'robostream-signaling-task-sg-id' },
    ]);
    assert.deepEqual(rulesOf(d.rs, 'robostream-signaling-task-sg-id'), [
      { kind: 'in', protocol: 'tcp', from: 8080, to: 8080, peer: 'robostream-signaling-alb-sg-id' },
      { kind: 'out', protocol: 'tcp', from: 443, to: 443, peer: '0.0.0.0/0' },
      { kind: 'out', protocol: 'tcp', from: 6379, to: 6379, peer: 'robostream-signaling-redis-sg-id' },
    ]);
  });

  it('serves websockets through an ALB with a long idle timeout, TLS from ACM, health check on /healthz', () => {
    const alb = ofType(d.rs, 'aws:lb/loadBalancer:LoadBalancer')[0]!;
    assert.equal(alb.inputs.idleTimeout, 3600);
    assert.deepEqual(alb.inputs.subnets, ['robostream-public-0-id', 'robostream-public-1-id']);
    const https = one(d.rs, 'aws:lb/listener:Listener', 'robostream-signaling-https');
    assert.equal(https.inputs.certificateArn, CERT_ARN);
    assert.equal(https.inputs.protocol, 'HTTPS');
    assert.match(String(https.inputs.sslPolicy), /TLS13/);
    const http = one(d.rs, 'aws:lb/listener:Listener', 'robostream-signaling-http');
    assert.equal((http.inputs.defaultActions as Raw[])[0]!.type, 'redirect');
    const tg = ofType(d.rs, 'aws:lb/targetGroup:TargetGroup')[0]!;
    assert.equal(tg.inputs.port, 8080);
    assert.equal(tg.inputs.targetType, 'ip');
    // Liveness, not readiness (/readyz follows Redis): a Redis outage must not empty the target group.
    assert.equal((tg.inputs.healthCheck as Raw).path, '/healthz');
  });

  it('refuses /metrics at the load balancer with 404, before anything is forwarded', () => {
    const https = one(d.rs, 'aws:lb/listener:Listener', 'robostream-signaling-https');
    const rules = ofType(d.rs, 'aws:lb/listenerRule:ListenerRule');
    assert.deepEqual(
      rules.map((r) => r.inputs.listenerArn),
      [`arn:aws:lb:eu-west-1:123456789012:${https.name}`], // the mock ARN of the HTTPS listener,
    );
    const [rule] = rules;
    assert.equal(rule!.inputs.priority, 1);
    assert.deepEqual(rule!.inputs.conditions, [{ pathPattern: { values: ['/metrics', '/metrics/*'] } }]);
    assert.deepEqual(rule!.inputs.actions, [
      {
        type: 'fixed-response',
        fixedResponse: { statusCode: '404', contentType: 'text/plain', messageBody: 'not found' },
      },
    ]);
  });

  it('runs the image from ECR on Fargate in private subnets with the environment the service reads', () => {
    const td = ofType(d.rs, 'aws:ecs/taskDefinition:TaskDefinition')[0]!;
    assert.equal(isSecretInput(td.inputs.containerDefinitions), false);
    const [c] = JSON.parse(String(td.inputs.containerDefinitions)) as Raw[];
    assert.equal(c!.image, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/robostream/test/signaling:v1.2.3');
    const env = Object.fromEntries(
      (c!.environment as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    assert.deepEqual(env, {
      PORT: '8080',
      HOST: '0.0.0.0',
      TURN_URLS: d.outputs.turnUrls,
      TURN_TTL_SEC: '3600',
      LOG_LEVEL: 'info',
      TRUST_PROXY: '10.42.0.0/16',
      SHUTDOWN_GRACE_MS: '20000',
    });
    const secrets = Object.fromEntries(
      (c!.secrets as { name: string; valueFrom: string }[]).map((e) => [e.name, e.valueFrom]),
    );
    assert.deepEqual(secrets, {
      SIGNING_KEY: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:robostream/test/signing-key-AbCdEf',
      TURN_SECRET: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:robostream/test/turn-secret-AbCdEf',
      REDIS_URL: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:robostream/test/redis-url-AbCdEf',
    });
    const svc = ofType(d.rs, 'aws:ecs/service:Service')[0]!;
    assert.deepEqual(svc.inputs.networkConfiguration, {
      subnets: ['robostream-private-0-id', 'robostream-private-1-id'],
      securityGroups: ['robostream-signaling-task-sg-id'],
      assignPublicIp: false,
    });
    const scaling = ofType(d.rs, 'aws:appautoscaling/target:Target')[0]!;
    assert.equal(scaling.inputs.minCapacity, 2);
    assert.equal(scaling.inputs.maxCapacity, 6);
  });

  it('stops tasks gracefully: the drain ends before the ALB cuts connections, SIGKILL only after both', () => {
    const tg = ofType(d.rs, 'aws:lb/targetGroup:TargetGroup')[0]!;
    const td = ofType(d.rs, 'aws:ecs/taskDefinition:TaskDefinition')[0]!;
    const [c] = JSON.parse(String(td.inputs.containerDefinitions)) as Raw[];
    const env = Object.fromEntries(
      (c!.environment as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    const graceMs = Number(env['SHUTDOWN_GRACE_MS']);
    const delayMs = Number(tg.inputs.deregistrationDelay) * 1000;
    // The drain starts when the task is marked for stopping (the service watches the task metadata endpoint),
    // so its goaway and grace must fit in the deregistration delay, with room for the last closes.
    assert.ok(graceMs > 0 && graceMs + 5000 <= delayMs, `grace ${graceMs} ms within the ${delayMs} ms delay`);
    assert.ok(Number(c!.stopTimeout) * 1000 >= graceMs, 'SIGKILL no earlier than a drain started on SIGTERM');
    assert.ok(Number(c!.stopTimeout) <= 120, 'Fargate allows at most 120 s');
  });

  it('outputs the signaling URLs and TURN_URLS in the form the signaling service takes', () => {
    assert.equal(d.outputs.signalingUrl, 'https://signal.example.com');
    assert.equal(d.outputs.signalingWebSocketUrl, 'wss://signal.example.com/v1/ws');
    assert.equal(
      d.outputs.turnUrls,
      [
        'turn:198.51.100.1:3478?transport=udp',
        'turn:198.51.100.1:3478?transport=tcp',
        'turn:198.51.100.2:3478?transport=udp',
        'turn:198.51.100.2:3478?transport=tcp',
        'turns:turn.example.com:443?transport=tcp',
      ].join(','),
    );
    assert.deepEqual(d.outputs.turnPublicIps, ['198.51.100.1', '198.51.100.2']);
    assert.equal(d.outputs.albDnsName, 'robostream-signaling-alb-1234567890.eu-west-1.elb.amazonaws.com');
    assert.equal(
      d.outputs.ecrRepositoryUrl,
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/robostream/test/signaling',
    );
    assert.equal(d.outputs.ecsServiceName, 'robostream-signaling-service');
  });
});

describe('the Pulumi program with other settings (mocked AWS)', () => {
  before(installMocks);

  it('opens SSH only from the configured CIDR, with the key pair', async () => {
    const d = await deploy(config({ turn: { sshCidr: '203.0.113.7/32', sshKeyName: 'ops' } }));
    const ssh = rulesOf(d.rs, TURN_SG_ID).filter((r) => r.from === 22);
    assert.deepEqual(ssh, [{ kind: 'in', protocol: 'tcp', from: 22, to: 22, peer: '203.0.113.7/32' }]);
    for (const i of ofType(d.rs, 'aws:ec2/instance:Instance')) assert.equal(i.inputs.keyName, 'ops');
  });

  it('without TLS: no 443 rule, no TLS listener in coturn, no turns: URL, x86 AMI for a c7i type', async () => {
    const d = await deploy(
      config({ turn: { domain: undefined, tlsSecretArn: undefined, count: 1, instanceType: 'c7i.large' } }),
    );
    assert.deepEqual(
      rulesOf(d.rs, TURN_SG_ID).map((r) => `${r.kind} ${r.protocol} ${r.from}`),
      ['in tcp 3478', 'in udp 3478', 'in udp 49152', 'out -1 undefined'],
    );
    const text = String(ofType(d.rs, 'aws:ec2/instance:Instance')[0]!.inputs.userData);
    assert.match(text, /^no-tls$/m);
    assert.equal(
      d.outputs.turnUrls,
      'turn:198.51.100.1:3478?transport=udp,turn:198.51.100.1:3478?transport=tcp',
    );
    const ami = d.calls.find((c) => c.token === 'aws:ec2/getAmi:getAmi');
    assert.match(JSON.stringify(ami?.inputs.filters), /ubuntu-noble-24\.04-amd64-server-\*/);
  });

  it('references existing secrets by ARN instead of creating them', async () => {
    const turnSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/turn-Zz9Zz9';
    const signingKeySecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/signing-Yy8Yy8';
    const d = await deploy(config({ secrets: { turnSecretArn, signingKeySecretArn } }));
    const names = ofType(d.rs, 'aws:secretsmanager/secret:Secret').map((s) => s.inputs.name);
    assert.deepEqual(names, ['robostream/test/redis-url']);
    assert.deepEqual(d.outputs.secretsToFill, []);
    assert.ok(String(ofType(d.rs, 'aws:ec2/instance:Instance')[0]!.inputs.userData).includes(turnSecretArn));
    const [c] = JSON.parse(
      String(ofType(d.rs, 'aws:ecs/taskDefinition:TaskDefinition')[0]!.inputs.containerDefinitions),
    );
    assert.deepEqual((c.secrets as { valueFrom: string }[]).map((s) => s.valueFrom).slice(0, 2), [
      signingKeySecretArn,
      turnSecretArn,
    ]);
  });

  it('honours a configured idle timeout and autoscaling bounds', async () => {
    const d = await deploy(config({ signaling: { idleTimeoutSec: 1800, minTasks: 1, maxTasks: 3 } }));
    assert.equal(ofType(d.rs, 'aws:lb/loadBalancer:LoadBalancer')[0]!.inputs.idleTimeout, 1800);
    const scaling = ofType(d.rs, 'aws:appautoscaling/target:Target')[0]!;
    assert.deepEqual([scaling.inputs.minCapacity, scaling.inputs.maxCapacity], [1, 3]);
  });

  it('without an image tag: repository, ALB and Redis, but no task definition or service yet', async () => {
    const d = await deploy(config({ signaling: { imageTag: undefined } }));
    assert.equal(ofType(d.rs, 'aws:ecr/repository:Repository').length, 1);
    assert.equal(ofType(d.rs, 'aws:lb/loadBalancer:LoadBalancer').length, 1);
    assert.equal(ofType(d.rs, 'aws:ecs/taskDefinition:TaskDefinition').length, 0);
    assert.equal(ofType(d.rs, 'aws:ecs/service:Service').length, 0);
    assert.equal(d.outputs.signalingImage, 'none yet: set robostream:signaling.imageTag');
  });
});
