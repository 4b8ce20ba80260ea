/** Stack config validation: defaults, one clear message per wrong value, no SSH from the internet. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { architectureOf, checkRedisAuthToken, ConfigError, parseConfig } from '../src/config.js';

const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc';
const signaling = { domain: 'signal.example.com', certificateArn: CERT_ARN };
type Raw = Record<string, unknown>;
const parse = (o: { network?: Raw; turn?: Raw; signaling?: Raw; secrets?: Raw }) =>
  parseConfig({ signaling, ...o, redisAuthToken: pulumi.output('x') });

function rejects(o: Parameters<typeof parse>[0], message: RegExp): void {
  assert.throws(
    () => parse(o),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );
}

describe('stack configuration', () => {
  it('fills hardened defaults', () => {
    const c = parse({});
    assert.equal(c.network.vpcCidr, '10.42.0.0/16');
    assert.equal(c.turn.count, 1);
    assert.equal(c.turn.instanceType, 't4g.small');
    assert.equal(c.turn.architecture, 'arm64');
    assert.equal(c.turn.sshCidr, undefined);
    assert.deepEqual([c.turn.relayPortMin, c.turn.relayPortMax], [49152, 65535]);
    assert.equal(c.signaling.idleTimeoutSec, 3600);
    assert.deepEqual([c.signaling.minTasks, c.signaling.maxTasks], [2, 6]);
    assert.equal(c.signaling.imageTag, undefined);
  });

  for (const cidr of ['0.0.0.0/0', '::/0', '0.0.0.0/1', '10.0.0.0/7']) {
    it(`refuses SSH from ${cidr}`, () =>
      rejects({ turn: { sshCidr: cidr } }, /sshCidr must not open SSH to the internet/));
  }

  it('names every wrong value at once', () => {
    assert.throws(
      () =>
        parse({
          turn: { count: 0, relayPortMin: 3000, relayPortMax: 4000, sshKeyName: 'k' },
          signaling: { certificateArn: 'nope' },
        }),
      (e: unknown) => {
        const m = (e as Error).message;
        return (
          /robostream:turn\.count must be a whole number from 1 to 20, got 0/.test(m) &&
          /must not include the listener port 3478/.test(m) &&
          /sshKeyName needs sshCidr/.test(m) &&
          /robostream:signaling\.domain is required/.test(m) &&
          /robostream:signaling\.certificateArn must be an ACM certificate ARN, got "nope"/.test(m)
        );
      },
    );
  });

  it('flags a misspelt key instead of silently using the default', () =>
    rejects({ turn: { instancetype: 'c7g.large' } }, /robostream:turn\.instancetype is not a known setting/));

  it('wants a TURN domain and its TLS secret together', () =>
    rejects(
      { turn: { domain: 'turn.example.com' } },
      /domain and robostream:turn\.tlsSecretArn go together/,
    ));

  it('refuses a per-subject TURN quota that is unlimited or reaches the server total', () => {
    rejects(
      { turn: { userQuota: 0 } },
      /userQuota 0 \(unlimited\) would let one subject take the whole server/,
    );
    rejects({ turn: { userQuota: 100, totalQuota: 100 } }, /userQuota 100 must stay below totalQuota 100/);
    assert.equal(parse({ turn: { userQuota: 100, totalQuota: 0 } }).turn.userQuota, 100);
  });

  it('refuses min tasks above max tasks and an idle timeout the ALB cannot have', () => {
    rejects({ signaling: { ...signaling, minTasks: 5, maxTasks: 2 } }, /minTasks must not exceed maxTasks/);
    rejects(
      { signaling: { ...signaling, idleTimeoutSec: 5000 } },
      /idleTimeoutSec must be a whole number from 60 to 4000/,
    );
  });

  it('derives the AMI architecture from the instance type', () => {
    assert.equal(architectureOf('t4g.small'), 'arm64');
    assert.equal(architectureOf('c6gn.xlarge'), 'arm64');
    assert.equal(architectureOf('m7gd.large'), 'arm64');
    assert.equal(architectureOf('c7i.large'), 'x86_64');
    assert.equal(architectureOf('g4dn.xlarge'), 'x86_64');
    assert.equal(architectureOf('t3.small'), 'x86_64');
  });

  it('checks the Redis AUTH token against ElastiCache rules', () => {
    assert.doesNotThrow(() => checkRedisAuthToken('a'.repeat(64)));
    assert.throws(() => checkRedisAuthToken('short'), ConfigError);
    assert.throws(() => checkRedisAuthToken(`${'a'.repeat(20)}@x`), ConfigError);
    assert.throws(() => checkRedisAuthToken(`${'a'.repeat(20)} x`), ConfigError);
  });
});
