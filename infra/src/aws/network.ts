/**
 * The VPC: two public subnets (ALB, TURN servers, the NAT gateway) and two private ones (signaling tasks, Redis)
 * in two availability zones; one NAT gateway so private tasks reach ECR, Secrets Manager and CloudWatch.
 * The VPC's default security group is emptied so nothing can use it by accident.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { NetworkConfig } from '../config.js';

/** The index-th subnet of `newBits` extra prefix bits inside an IPv4 CIDR (10.42.0.0/16, 4, 1 -> 10.42.16.0/20). */
export function subnetCidr(vpcCidr: string, newBits: number, index: number): string {
  const [base, prefixText] = vpcCidr.split('/');
  const prefix = Number(prefixText) + newBits;
  if (prefix > 28 || index >= 2 ** newBits)
    throw new Error(`cannot carve subnet ${index} /${prefix} from ${vpcCidr}`);
  const n = base!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + index * 2 ** (32 - prefix);
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/${prefix}`;
}

export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];

  constructor(name: string, cfg: NetworkConfig, opts?: pulumi.ComponentResourceOptions) {
    super('robostream:aws:Network', name, {}, opts);
    const p = { parent: this };
    this.vpcCidr = cfg.vpcCidr;
    const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, p).names.apply((names) => {
      if (names.length < 2) throw new Error('the region needs at least two availability zones');
      return names.slice(0, 2);
    });

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: cfg.vpcCidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: `${name}-vpc` },
      },
      p,
    );
    this.vpcId = vpc.id;
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, ingress: [], egress: [] }, p);

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, p);
    const publicRt = new aws.ec2.RouteTable(
      `${name}-public-rt`,
      { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }] },
      p,
    );

    // /16 -> /20 subnets: public 0 and 1, private 8 and 9 (room left for more zones).
    const publics = [0, 1].map((i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(cfg.vpcCidr, 4, i),
          availabilityZone: zones[i]!,
          mapPublicIpOnLaunch: false, // TURN servers get Elastic IPs; nothing else needs a public address.
          tags: { Name: `${name}-public-${i}` },
        },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: subnet.id, routeTableId: publicRt.id },
        p,
      );
      return subnet;
    });

    const natEip = new aws.ec2.Eip(`${name}-nat-eip`, { domain: 'vpc' }, p);
    const nat = new aws.ec2.NatGateway(
      `${name}-nat`,
      { allocationId: natEip.id, subnetId: publics[0]!.id },
      { parent: this, dependsOn: [igw] },
    );
    const privateRt = new aws.ec2.RouteTable(
      `${name}-private-rt`,
      { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }] },
      p,
    );
    const privates = [0, 1].map((i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-private-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(cfg.vpcCidr, 4, 8 + i),
          availabilityZone: zones[i]!,
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-private-${i}` },
        },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId: subnet.id, routeTableId: privateRt.id },
        p,
      );
      return subnet;
    });

    this.publicSubnetIds = publics.map((s) => s.id);
    this.privateSubnetIds = privates.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId });
  }
}
