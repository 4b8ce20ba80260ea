/** The Pulumi entry point (src/index.ts) as `pulumi up` loads it: config read from the stack, outputs exported. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { installMocks, valueOf } from './support/pulumi-mocks.js';

it('reads the stack config and exports every output', async () => {
  pulumi.runtime.setAllConfig(
    {
      'robostream:signaling': JSON.stringify({
        domain: 'signal.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c',
        imageTag: 'v1',
      }),
      'robostream:turn': JSON.stringify({ count: 1 }),
      'robostream:redisAuthToken': 'a'.repeat(40),
    },
    ['robostream:redisAuthToken'],
  );
  await installMocks();
  const stack = await import('../src/index.js');
  assert.deepEqual(Object.keys(stack).sort(), [
    'albDnsName',
    'ecrRepositoryUrl',
    'ecsClusterName',
    'ecsServiceName',
    'secretsToFill',
    'signalingImage',
    'signalingUrl',
    'signalingWebSocketUrl',
    'signingKeySecretArn',
    'turnAlarmNames',
    'turnInstanceIds',
    'turnPublicIps',
    'turnSecretArn',
    'turnUrls',
  ]);
  assert.equal(
    await valueOf(stack.turnUrls),
    'turn:198.51.100.1:3478?transport=udp,turn:198.51.100.1:3478?transport=tcp',
  );
  assert.equal(stack.signalingUrl, 'https://signal.example.com');
});
