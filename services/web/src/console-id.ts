// One id per browser tab, kept across reloads of that tab (sessionStorage), sent with every session request so
// that a reloaded console takes over its own seat on the robot instead of being refused while the old one's
// dead path is still being noticed.
const KEY = 'robostream.console';

export function consoleId(): string {
  try {
    const known = sessionStorage.getItem(KEY);
    if (known) return known;
    const fresh = crypto.randomUUID();
    sessionStorage.setItem(KEY, fresh);
    return fresh;
  } catch {
    // Storage refused (a sandboxed frame): an id for this page's life is still better than none.
    return (fallback ??= crypto.randomUUID());
  }
}
let fallback: string | undefined;
