/**
 * The TURN URLs the signaling service hands to clients (its TURN_URLS variable, comma-separated): per server
 * turn: over UDP and TCP on its Elastic IP, plus one turns: (TLS, on 443) on the TURN domain when TLS is set up.
 */
export function turnUrls(
  publicIps: string[],
  listeningPort: number,
  tls?: { domain: string; port: number },
): string[] {
  const urls = publicIps.flatMap((ip) => [
    `turn:${ip}:${listeningPort}?transport=udp`,
    `turn:${ip}:${listeningPort}?transport=tcp`,
  ]);
  if (tls) urls.push(`turns:${tls.domain}:${tls.port}?transport=tcp`);
  return urls;
}
