export { startGateway, type Gateway } from './gateway.js';
export { loadConfig, ConfigError, DEFAULT_LIMITS, type GatewayConfig, type GatewayLimits } from './config.js';
export type { AppLink, DeliveryClass, LinkTransport } from './links/app-link.js';
export type { HubStats } from './hub/hub.js';
