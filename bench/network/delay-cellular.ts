// Network scenario delay-cellular (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/delay-cellular
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['delay-cellular']);
process.exit(0);
