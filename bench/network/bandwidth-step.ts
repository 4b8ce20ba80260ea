// Network scenario bandwidth-step (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/bandwidth-step
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['bandwidth-step']);
process.exit(0);
