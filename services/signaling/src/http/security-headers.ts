import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * Security headers on every response, the console's above all (it holds an app token in sessionStorage). The
 * page's scripts and styles come from this origin only, nothing inline; it talks to this origin only (`'self'`
 * covers ws: and wss: of the same host in CSP Level 3), so a crafted link cannot make it send the token elsewhere;
 * no page may frame it. WebRTC media and TURN are outside CSP's reach and need nothing here. There is no
 * upgrade-insecure-requests: a robot serves the console over plain HTTP on its LAN.
 */
export function securityHeaders(extraConnectSrc: readonly string[] = []): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // The favicon is a data: URL in index.html.
        imgSrc: ["'self'", 'data:'],
        // Operators may add their robots' HTTP origins (CONSOLE_CONNECT_SRC): the recordings panel calls them.
        connectSrc: ["'self'", ...extraConnectSrc],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // Only meaningful over HTTPS, where browsers honour it; the deployment's other hosts are not ours to pin.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  };
}
