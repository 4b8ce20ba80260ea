import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../scripts/test-summary.mjs';

test('a clean run passes and says there was nothing flaky', () => {
  const r = summarize(3, []);
  assert.equal(r.exitCode, 0);
  assert.equal(r.lines.at(-1), '3 passed (0 flaky: passed on retry), 0 failed');
});

test('one file that passed only on retry: the run passes, and the summary line shows it', () => {
  const r = summarize(3, [{ file: 'a.test.ts', passed: true }]);
  assert.equal(r.exitCode, 0);
  assert.equal(r.lines.at(-1), '3 passed (1 flaky: passed on retry), 0 failed');
  assert.ok(r.lines.includes('[run-tests] retried a.test.ts: passed on retry (FLAKY)'));
});

test('more than one flaky file fails the run', () => {
  const r = summarize(3, [
    { file: 'a.test.ts', passed: true },
    { file: 'b.test.ts', passed: true },
  ]);
  assert.equal(r.exitCode, 1);
  assert.equal(r.lines.at(-1), '3 passed (2 flaky: passed on retry), 0 failed, too flaky');
});

test('a file that fails its retry fails the run', () => {
  const r = summarize(3, [{ file: 'a.test.ts', passed: false }]);
  assert.equal(r.exitCode, 1);
  assert.equal(r.lines.at(-1), '2 passed (0 flaky: passed on retry), 1 failed');
});
