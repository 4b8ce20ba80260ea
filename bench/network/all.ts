// Every network scenario (docs/networks.md) one after the other, full length, each with the Chromium baseline;
// one summary line per scenario at the end. Run: npm run bench -- network/all (about 25 minutes).
import { SCENARIOS } from '../../test/support/netlab/scenarios.js';
import { benchScenarios } from '../support/network-report.js';

await benchScenarios([...SCENARIOS.map((s) => s.name), 'gateway']);
process.exit(0);
