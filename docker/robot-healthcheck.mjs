// Container health check: exit 0 when HEALTH_URL answers 2xx within 2 s (no curl in the image).
/* global fetch, AbortSignal */
const url = process.env.HEALTH_URL ?? 'http://127.0.0.1:9110/healthz';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
