/**
 * The signaling service: its image repository (ECR), an ECS Fargate service in the private subnets behind an
 * internet-facing ALB (TLS with the configured ACM certificate, websocket-friendly idle timeout, health check on
 * /healthz, /metrics refused), Redis (SignalingRedis), secrets injected by ECS from Secrets Manager, CPU-based autoscaling.
 *
 * Security groups: internet -> ALB 443 (80 only redirects); ALB -> tasks 8080; tasks -> Redis 6379 and HTTPS out.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SignalingConfig } from '../config.js';
import { REDIS_PORT, SignalingRedis } from './signaling-redis.js';

export interface SignalingServiceArgs {
  cfg: SignalingConfig;
  region: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** The VPC's range: the ALB's addresses are in it, so it is what TRUST_PROXY trusts. */
  vpcCidr: string;
  publicSubnetIds: pulumi.Input<string>[];
  privateSubnetIds: pulumi.Input<string>[];
  signingKeySecretArn: pulumi.Input<string>;
  turnSecretArn: pulumi.Input<string>;
  /** TURN_URLS, comma-separated. */
  turnUrls: pulumi.Input<string>;
  redisAuthToken: pulumi.Output<string>;
}

export const CONTAINER_PORT = 8080;
export const CONTAINER_NAME = 'signaling';
// A graceful stop on a rolling deploy or scale-in: ECS marks the task for stopping, deregisters it and waits
// DEREGISTRATION_DELAY_S before it sends SIGTERM, and the ALB cuts what is still connected when the delay ends.
// The service starts draining as soon as the task is marked (it watches the task metadata endpoint): goaway to
// every client, SHUTDOWN_GRACE_MS for them to reconnect through the ALB to the other tasks, then it closes the
// rest itself, all before the ALB would. STOP_TIMEOUT_S is the SIGKILL bound after SIGTERM.
export const DEREGISTRATION_DELAY_S = 30;
export const SHUTDOWN_GRACE_MS = 20_000;
export const STOP_TIMEOUT_S = 30;

const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/** Refused at the load balancer (404): the service's /metrics and anything below it. */
export const METRICS_PATHS = ['/metrics', '/metrics/*'] as const;

export class SignalingService extends pulumi.ComponentResource {
  readonly url: string;
  readonly websocketUrl: string;
  readonly albDnsName: pulumi.Output<string>;
  readonly repositoryUrl: pulumi.Output<string>;
  /** Image the service runs, or undefined until signaling.imageTag is set. */
  readonly image: pulumi.Output<string> | undefined;
  readonly clusterName: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string> | undefined;

  constructor(name: string, args: SignalingServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('robostream:aws:SignalingService', name, {}, opts);
    const p = { parent: this };
    const { cfg } = args;
    const stack = pulumi.getStack();
    this.url = `https://${cfg.domain}`;
    this.websocketUrl = `wss://${cfg.domain}/v1/ws`;

    const repo = new aws.ecr.Repository(
      `${name}-repo`,
      {
        name: `robostream/${stack}/signaling`,
        imageTagMutability: 'IMMUTABLE', // a tag names one build forever; deploys are reproducible
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
      },
      p,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-repo-lifecycle`,
      {
        repository: repo.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'keep the newest 30 images',
              selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      p,
    );
    this.repositoryUrl = repo.repositoryUrl;

    // --- security groups (rules as separate resources: the groups reference each other)
    const albSg = new aws.ec2.SecurityGroup(
      `${name}-alb-sg`,
      {
        vpcId: args.vpcId,
        description: 'signaling ALB: HTTPS from the internet',
        tags: { Name: `${name}-alb-sg` },
      },
      p,
    );
    const taskSg = new aws.ec2.SecurityGroup(
      `${name}-task-sg`,
      {
        vpcId: args.vpcId,
        description: 'signaling tasks: from the ALB only',
        tags: { Name: `${name}-task-sg` },
      },
      p,
    );
    const redis = new SignalingRedis(
      `${name}-redis`,
      {
        vpcId: args.vpcId,
        privateSubnetIds: args.privateSubnetIds,
        clientSecurityGroupId: taskSg.id,
        nodeType: cfg.redisNodeType,
        replicas: cfg.redisReplicas,
        authToken: args.redisAuthToken,
      },
      p,
    );
    const rule = (
      kind: 'in' | 'out',
      id: string,
      sg: aws.ec2.SecurityGroup,
      port: number,
      peer: { cidrIpv4: string } | { referencedSecurityGroupId: pulumi.Input<string> },
      description: string,
    ) => {
      const a = {
        securityGroupId: sg.id,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description,
        ...peer,
      };
      return kind === 'in'
        ? new aws.vpc.SecurityGroupIngressRule(`${name}-${id}`, a, p)
        : new aws.vpc.SecurityGroupEgressRule(`${name}-${id}`, a, p);
    };
    rule('in', 'alb-in-https', albSg, 443, { cidrIpv4: '0.0.0.0/0' }, 'HTTPS and websockets');
    rule('in', 'alb-in-http', albSg, 80, { cidrIpv4: '0.0.0.0/0' }, 'HTTP, redirected to HTTPS');
    rule(
      'out',
      'alb-out-tasks',
      albSg,
      CONTAINER_PORT,
      { referencedSecurityGroupId: taskSg.id },
      'to the tasks',
    );
    rule(
      'in',
      'task-in-alb',
      taskSg,
      CONTAINER_PORT,
      { referencedSecurityGroupId: albSg.id },
      'from the ALB',
    );
    rule(
      'out',
      'task-out-redis',
      taskSg,
      REDIS_PORT,
      { referencedSecurityGroupId: redis.securityGroupId },
      'Redis',
    );
    rule(
      'out',
      'task-out-https',
      taskSg,
      443,
      { cidrIpv4: '0.0.0.0/0' },
      'ECR, Secrets Manager, CloudWatch Logs',
    );

    // --- load balancer
    const alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [albSg.id],
        idleTimeout: cfg.idleTimeoutSec, // a websocket silent for longer than this is cut by the ALB
        dropInvalidHeaderFields: true,
        enableHttp2: true,
      },
      p,
    );
    this.albDnsName = alb.dnsName;
    const targets = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        vpcId: args.vpcId,
        targetType: 'ip',
        protocol: 'HTTP',
        port: CONTAINER_PORT,
        deregistrationDelay: DEREGISTRATION_DELAY_S,
        healthCheck: {
          path: '/healthz',
          protocol: 'HTTP',
          matcher: '200',
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      p,
    );
    const https = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: alb.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: TLS_POLICY,
        certificateArn: cfg.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: targets.arn }],
      },
      p,
    );
    // /metrics (Prometheus) names instances, counts sessions and exposes process internals: never to the internet.
    // Scrape it inside the VPC, from the task's address. The path pattern is case-sensitive like the service's routes.
    new aws.lb.ListenerRule(
      `${name}-no-metrics`,
      {
        listenerArn: https.arn,
        priority: 1,
        conditions: [{ pathPattern: { values: [...METRICS_PATHS] } }],
        actions: [
          {
            type: 'fixed-response',
            fixedResponse: { statusCode: '404', contentType: 'text/plain', messageBody: 'not found' },
          },
        ],
      },
      p,
    );
    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [
          { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
        ],
      },
      p,
    );

    // --- ECS
    const cluster = new aws.ecs.Cluster(`${name}-cluster`, {}, p);
    this.clusterName = cluster.name;
    const logs = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/robostream/${stack}/signaling`, retentionInDays: cfg.logRetentionDays },
      p,
    );
    const secretArns = [args.signingKeySecretArn, args.turnSecretArn, redis.urlSecretArn];
    const executionRole = new aws.iam.Role(
      `${name}-execution`,
      {
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
        description: 'ECS agent for robostream signaling: pull the image, write logs, read the three secrets',
      },
      p,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-execution-ecs`,
      {
        role: executionRole.name,
        policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
      },
      p,
    );
    new aws.iam.RolePolicy(
      `${name}-execution-secrets`,
      {
        role: executionRole.id,
        policy: pulumi.all(secretArns).apply((arns) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arns }],
          }),
        ),
      },
      p,
    );
    // The application itself calls no AWS API: its role grants nothing.
    const taskRole = new aws.iam.Role(
      `${name}-task`,
      {
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
        description: 'robostream signaling application: no AWS permissions',
      },
      p,
    );

    if (!cfg.imageTag) {
      this.image = undefined;
      this.serviceName = undefined;
      pulumi.log.warn(
        'robostream:signaling.imageTag is not set: no ECS service yet. Push an image to the ecrRepositoryUrl output, ' +
          'set the tag, run `pulumi up` again (docs/deploy-aws.md).',
        this,
      );
      this.registerOutputs({ albDnsName: this.albDnsName, repositoryUrl: this.repositoryUrl });
      return;
    }

    this.image = pulumi.interpolate`${repo.repositoryUrl}:${cfg.imageTag}`;
    const containerDefinitions = pulumi
      .all([this.image, args.region, logs.name, args.turnUrls, ...secretArns])
      .apply(([image, region, logGroup, turnUrls, signingKeyArn, turnSecretArn, redisUrlArn]) =>
        JSON.stringify([
          {
            name: CONTAINER_NAME,
            image,
            essential: true,
            portMappings: [{ containerPort: CONTAINER_PORT, protocol: 'tcp' }],
            environment: [
              { name: 'PORT', value: String(CONTAINER_PORT) },
              { name: 'HOST', value: '0.0.0.0' },
              { name: 'TURN_URLS', value: turnUrls },
              { name: 'TURN_TTL_SEC', value: String(cfg.turnCredentialTtlSec) },
              { name: 'LOG_LEVEL', value: cfg.logLevel },
              // Only the load balancer's hops are trusted: a client-written X-Forwarded-For entry is not.
              { name: 'TRUST_PROXY', value: args.vpcCidr },
              { name: 'SHUTDOWN_GRACE_MS', value: String(SHUTDOWN_GRACE_MS) },
            ],
            // ECS reads these from Secrets Manager at task start: never in the task definition or the state.
            secrets: [
              { name: 'SIGNING_KEY', valueFrom: signingKeyArn },
              { name: 'TURN_SECRET', valueFrom: turnSecretArn },
              { name: 'REDIS_URL', valueFrom: redisUrlArn },
            ],
            readonlyRootFilesystem: true,
            linuxParameters: { initProcessEnabled: true }, // an init as PID 1 forwards SIGTERM to node
            stopTimeout: STOP_TIMEOUT_S,
            ulimits: [{ name: 'nofile', softLimit: 65536, hardLimit: 65536 }],
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': logGroup,
                'awslogs-region': region,
                'awslogs-stream-prefix': 'signaling',
              },
            },
          },
        ]),
      );
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: `robostream-${stack}-signaling`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(cfg.cpu),
        memory: String(cfg.memoryMiB),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: cfg.cpuArchitecture },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
      },
      p,
    );
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: cfg.minTasks,
        networkConfiguration: {
          subnets: args.privateSubnetIds,
          securityGroups: [taskSg.id],
          assignPublicIp: false,
        },
        loadBalancers: [
          { targetGroupArn: targets.arn, containerName: CONTAINER_NAME, containerPort: CONTAINER_PORT },
        ],
        healthCheckGracePeriodSeconds: 30,
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
      },
      // Autoscaling owns the running count after creation.
      { parent: this, dependsOn: [https], ignoreChanges: ['desiredCount'] },
    );
    this.serviceName = service.name;

    const scaling = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: cfg.minTasks,
        maxCapacity: cfg.maxTasks,
      },
      p,
    );
    new aws.appautoscaling.Policy(
      `${name}-cpu`,
      {
        policyType: 'TargetTrackingScaling',
        serviceNamespace: scaling.serviceNamespace,
        scalableDimension: scaling.scalableDimension,
        resourceId: scaling.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          targetValue: cfg.targetCpuPercent,
          scaleOutCooldown: 60,
          // Scaling in closes websockets (clients reconnect): do it slowly.
          scaleInCooldown: 600,
        },
      },
      p,
    );
    this.registerOutputs({
      albDnsName: this.albDnsName,
      repositoryUrl: this.repositoryUrl,
      image: this.image,
    });
  }
}
