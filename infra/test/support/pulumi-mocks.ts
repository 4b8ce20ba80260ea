/**
 * Pulumi mocks for the unit tests: no CLI, no AWS. Every resource the program registers is recorded with its
 * inputs (secret inputs stay wrapped, so a test can tell whether a value was marked secret); data-source calls
 * (getAmi, getRegion, getAvailabilityZones) answer with fixed values and are recorded too.
 */
import * as pulumi from '@pulumi/pulumi';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const AMI_ID = 'ami-0123456789abcdef0';

export interface Recorded {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
}

export const resources: Recorded[] = [];
export const calls: { token: string; inputs: Record<string, unknown> }[] = [];

const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;

/** True when a recorded input value was passed as a Pulumi secret. */
export function isSecretInput(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG] === SECRET;
}

/** The plain value of a recorded input, secret or not. */
export function plain(v: unknown): unknown {
  return isSecretInput(v) ? (v as { value: unknown }).value : v;
}

function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const arn = (service: string, what: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${what}`;
  switch (type) {
    case 'aws:ec2/eip:Eip': {
      // Deterministic whatever the registration order: the TURN server index decides (robostream-turn-0-eip -> .1).
      const index = /-(\d+)-eip$/.exec(name);
      const host = index ? Number(index[1]) + 1 : 200;
      return { publicIp: `198.51.100.${host}`, allocationId: `eipalloc-${name}` };
    }
    case 'aws:secretsmanager/secret:Secret':
      return {
        arn: arn('secretsmanager', `secret:${String(inputs.name ?? name)}-AbCdEf`),
        name: inputs.name ?? name,
      };
    case 'aws:ecr/repository:Repository':
      return {
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${String(inputs.name)}`,
        arn: arn('ecr', `repository/${String(inputs.name)}`),
      };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return {
        dnsName: `${name}-1234567890.${REGION}.elb.amazonaws.com`,
        arn: arn('elasticloadbalancing', name),
      };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return { primaryEndpointAddress: `master.${name}.abc123.euw1.cache.amazonaws.com` };
    default:
      return { arn: arn(type.split(':')[1]?.split('/')[0] ?? 'x', name), name: inputs.name ?? name };
  }
}

export async function installMocks(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}-id`;
        resources.push({
          type: args.type,
          name: args.name,
          id,
          inputs: args.inputs as Record<string, unknown>,
        });
        return { id, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        switch (args.token) {
          case 'aws:index/getRegion:getRegion':
            return { region: REGION, name: REGION, id: REGION };
          case 'aws:index/getAvailabilityZones:getAvailabilityZones':
            return {
              names: [`${REGION}a`, `${REGION}b`, `${REGION}c`],
              zoneIds: ['euw1-az1', 'euw1-az2', 'euw1-az3'],
            };
          case 'aws:ec2/getAmi:getAmi':
            return { ...args.inputs, id: AMI_ID, imageId: AMI_ID };
          default:
            throw new Error(`unmocked call ${args.token}`);
        }
      },
    },
    'robostream',
    'test',
    false,
  );
}

/** Resolves an Output (mocks never leave values unknown). */
export function valueOf<T>(o: pulumi.Output<T> | T): Promise<T> {
  return pulumi.Output.isInstance(o) ? new Promise<T>((resolve) => o.apply(resolve)) : Promise.resolve(o);
}

/** Runs `build`, waits until every resource it started is registered, returns what was recorded meanwhile. */
export async function record<T>(
  build: () => T,
): Promise<{ result: T; resources: Recorded[]; calls: typeof calls }> {
  resources.length = 0;
  calls.length = 0;
  const result = build();
  await (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
  return { result, resources: [...resources], calls: [...calls] };
}

export function ofType(rs: Recorded[], type: string): Recorded[] {
  return rs.filter((r) => r.type === type);
}

export function one(rs: Recorded[], type: string, name: string): Recorded {
  const r = rs.find((x) => x.type === type && x.name === name);
  if (!r)
    throw new Error(`no ${type} named ${name}; have: ${rs.map((x) => `${x.type} ${x.name}`).join(', ')}`);
  return r;
}
