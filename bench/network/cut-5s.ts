// Network scenario cut-5s (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/cut-5s
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['cut-5s']);
process.exit(0);
