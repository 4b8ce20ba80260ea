// Network scenario burst-loss (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/burst-loss
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['burst-loss']);
process.exit(0);
