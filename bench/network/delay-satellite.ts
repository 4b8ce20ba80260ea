// Network scenario delay-satellite (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/delay-satellite
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['delay-satellite']);
process.exit(0);
