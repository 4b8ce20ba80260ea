// Network scenario two-viewers (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/two-viewers
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['two-viewers']);
process.exit(0);
