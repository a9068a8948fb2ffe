// `node dist/bench/cluster-run.js [--smoke] [--idle-only] [idle sessions]`: the cluster's figures alone (they are
// also part of `npm run bench`), printed as the full run prints its table.
import { clusterBench } from './cluster-setups.js';

const smoke = process.argv.includes('--smoke');
const idle = process.argv.slice(2).find((a) => /^\d+$/.test(a));
const results = await clusterBench({
  smoke,
  idleOnly: process.argv.includes('--idle-only'),
  ...(idle ? { idleSessions: Number(idle) } : {}),
});
for (const r of results)
  console.log(`${r.name.padEnd(78)} ${r.value.toFixed(r.unit === 'ms' || r.unit === 'ratio' ? 3 : 1).padStart(10)} ${r.unit}`);
