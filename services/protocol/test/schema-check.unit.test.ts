import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { schemaCheck } from '../src/schema-check.js';

const Schema = Type.Object(
  { type: Type.Literal('ping'), t: Type.Optional(Type.Number()) },
  { additionalProperties: false },
);

test('where code generation is refused (a page under a strict CSP), checks fall back to the interpreter', () => {
  const real = globalThis.Function;
  // What a Content-Security-Policy without 'unsafe-eval' does to `new Function(...)`.
  globalThis.Function = function refused() {
    throw new EvalError('Evaluating a string as JavaScript violates the Content Security Policy');
  } as unknown as FunctionConstructor;
  let interpreted;
  try {
    interpreted = schemaCheck(Schema);
  } finally {
    globalThis.Function = real;
  }
  const compiled = schemaCheck(Schema);
  assert.notEqual(interpreted.constructor, compiled.constructor, 'the fallback is not the compiled check');
  for (const value of [
    { type: 'ping' },
    { type: 'ping', t: 1 },
    { type: 'ping', t: 'x' },
    { type: 'pong' },
    null,
  ]) {
    assert.equal(interpreted.Check(value), compiled.Check(value), JSON.stringify(value));
    assert.equal(interpreted.Errors(value).First()?.path, compiled.Errors(value).First()?.path);
  }
});
