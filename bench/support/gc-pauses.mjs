// Preloaded into a process (`node --import ./bench/support/gc-pauses.mjs`, NODE_OPTIONS accepts it): every GC pause
// is written to stderr as `GC <kind> <start, epoch ms> <duration ms>`, the kind as perf_hooks numbers it (1 minor,
// 4 major, 8 incremental, 16 weak callbacks). Plain JavaScript, so that it loads before any TypeScript loader.
import { PerformanceObserver } from 'node:perf_hooks';

const origin = performance.timeOrigin;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = /** @type {{ kind?: number } | undefined} */ (e.detail)?.kind ?? 0;
    process.stderr.write(`GC ${kind} ${(origin + e.startTime).toFixed(2)} ${e.duration.toFixed(3)}\n`);
  }
}).observe({ entryTypes: ['gc'] });
