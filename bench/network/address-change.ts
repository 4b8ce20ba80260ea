// Network scenario address-change (docs/networks.md), full length, robostream and the Chromium baseline on the same path.
// Run: npm run bench -- network/address-change
import { benchScenarios } from '../support/network-report.js';

await benchScenarios(['address-change']);
process.exit(0);
