/**
 * Nesting depth of parsed JSON. V8's JSON.parse accepts arrays nested thousands deep, but JSON.stringify (and any
 * other recursive walk) overflows the stack on them: a 10 KB frame of `[[[[...]]]]` relayed as is would throw a
 * RangeError far from the decoder. Every decoder refuses such values up front. The walk is iterative, so measuring
 * a hostile value cannot overflow the stack itself.
 */

/** Deepest nesting any message of either protocol may carry (objects and arrays both count as one level). */
export const MAX_JSON_DEPTH = 32;

/** True when `value` nests objects/arrays more than `max` levels deep. Stops at the first level past `max`. */
export function exceedsJsonDepth(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: { v: object; depth: number }[] = [{ v: value, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push({ v: c, depth: depth + 1 });
  }
  return false;
}
