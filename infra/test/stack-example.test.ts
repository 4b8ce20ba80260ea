/** Pulumi.example.yaml is what docs/deploy-aws.md tells people to copy: it must pass the program's own validation. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { parseConfig } from '../src/config.js';

it('Pulumi.example.yaml passes config validation with the values it shows', () => {
  const doc = parse(readFileSync(new URL('../Pulumi.example.yaml', import.meta.url), 'utf8')) as {
    config: Record<string, Record<string, unknown>>;
  };
  const c = parseConfig({
    network: doc.config['robostream:network'],
    turn: doc.config['robostream:turn'],
    signaling: doc.config['robostream:signaling'],
    secrets: doc.config['robostream:secrets'],
    redisAuthToken: pulumi.output('unused'),
  });
  assert.equal(c.turn.architecture, 'arm64');
  assert.equal(c.turn.domain, 'turn.example.com');
  assert.equal(c.signaling.domain, 'signal.example.com');
  assert.equal(c.signaling.imageTag, undefined);
});
