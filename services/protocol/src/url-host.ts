/**
 * The host to write in a URL that reaches a server of this machine, given the host it listens on: a server on
 * every interface (0.0.0.0, ::) is reached on loopback, and an IPv6 literal needs brackets. Robot services use it
 * for the URLs they log, report and connect their own clients to.
 */
export function urlHost(listenHost: string): string {
  if (listenHost === '0.0.0.0') return '127.0.0.1';
  // A socket on '::' exists only with an IPv6 stack, so its loopback is there too.
  if (listenHost === '::') return '[::1]';
  return listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost;
}
