// Network scenario loss-2pct (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/loss-2pct
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['loss-2pct']);
process.exit(0);
