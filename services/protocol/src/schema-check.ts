import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, type ValueError } from '@sinclair/typebox/value';

/** What validation needs of one schema: a verdict, and the first error when there is one. */
export interface SchemaCheck {
  Check(value: unknown): boolean;
  Errors(value: unknown): { First(): ValueError | undefined };
}

/**
 * A compiled check where code generation is allowed (TypeBox's compiler builds its checks with `new Function`: fast,
 * for the services), else TypeBox's interpreter with the same verdicts and errors. A page under a
 * Content-Security-Policy without 'unsafe-eval', as the console is served, gets an EvalError from the compiler.
 */
export function schemaCheck(schema: TSchema): SchemaCheck {
  try {
    return TypeCompiler.Compile(schema);
  } catch (err) {
    if (!(err instanceof EvalError)) throw err;
    return { Check: (v) => Value.Check(schema, v), Errors: (v) => Value.Errors(schema, v) };
  }
}
