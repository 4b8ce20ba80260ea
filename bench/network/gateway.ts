// Network scenario 7 (docs/networks.md): the gateway's data channels over the lab's path (clean, 10 % loss,
// cellular delay, a 5 s cut): command round trips, order, telemetry, the deadman. Run: npm run bench -- network/gateway
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['gateway']);
process.exit(0);
