// Network scenario loss-10pct (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/loss-10pct
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['loss-10pct']);
process.exit(0);
