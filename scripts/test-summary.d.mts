export declare const MAX_FLAKY_FILES: number;
export declare function summarize(
  total: number,
  retried: Array<{ file: string; passed: boolean }>,
): { lines: string[]; exitCode: number };
