// The verdict of a test run with one retry per failing file (scripts/run-tests.mjs). A retry is allowed because
// browser and WebRTC tests on a loaded 2-core machine are occasionally flaky; it is never hidden: a file that
// passed only on retry is counted as flaky in the summary line, and more than one flaky file fails the run.

/** Flaky files tolerated in one run; beyond this the retries hide a trend instead of a hiccup. */
export const MAX_FLAKY_FILES = 1;

/**
 * @param {number} total test files run
 * @param {Array<{file: string, passed: boolean}>} retried the files that failed first, and how their retry went
 * @returns {{lines: string[], exitCode: number}}
 */
export function summarize(total, retried) {
  const flaky = retried.filter((r) => r.passed).map((r) => r.file);
  const failed = retried.filter((r) => !r.passed).map((r) => r.file);
  const lines = [`[run-tests] files: ${total} passed first time: ${total - retried.length}`];
  for (const r of retried)
    lines.push(`[run-tests] retried ${r.file}: ${r.passed ? 'passed on retry (FLAKY)' : 'FAILED again'}`);
  const tooFlaky = flaky.length > MAX_FLAKY_FILES;
  if (tooFlaky)
    lines.push(
      `[run-tests] ${flaky.length} files passed only on retry; at most ${MAX_FLAKY_FILES} may: run failed`,
    );
  lines.push(
    `${total - failed.length} passed (${flaky.length} flaky: passed on retry), ${failed.length} failed` +
      (tooFlaky ? ', too flaky' : ''),
  );
  return { lines, exitCode: failed.length > 0 || tooFlaky ? 1 : 0 };
}
