// `npm run bench`: measures Porthole's data path against raw TCP in one run and prints a table;
// writes the figures as JSON (dist/bench/results.json, or the path in PORTHOLE_BENCH_OUT). It
// updates nothing else: BENCHMARKS.md is edited by a person, with the machine and the date.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startHarness, type BenchResult } from './harness.js';

const small = process.argv.includes('--smoke'); // a quick run that only proves the harness works
const megabytes = small ? 20 : 1000;
const sessions = small ? 10 : 300;

const harness = await startHarness();
const results: BenchResult[] = [];
try {
  const best = async (f: () => Promise<number>) => Math.max(await f(), await f(), await f());
  const raw = await best(() => harness.rawTcpThroughput(megabytes));
  const porthole = await best(() => harness.portholeThroughput(megabytes));
  results.push(
    { name: 'display-direction throughput, raw TCP (the limit)', value: raw, unit: 'MB/s' },
    { name: 'display-direction throughput, Porthole over wss', value: porthole, unit: 'MB/s' },
    { name: 'Porthole / raw TCP', value: porthole / raw, unit: 'ratio' },
    { name: 'session setups over wss (TLS, token, inventory, RFB handshake)', value: await harness.setupRate(sessions), unit: 'sessions/s' },
  );
} finally {
  await harness.close();
}

const out = process.env.PORTHOLE_BENCH_OUT ?? fileURLToPath(new URL('./results.json', import.meta.url));
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
writeFileSync(out, `${JSON.stringify({ machine, megabytes, sessions, results }, null, 2)}\n`);
console.log(`Porthole benchmarks (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.date})`);
for (const r of results) console.log(`${r.name.padEnd(66)} ${r.value.toFixed(r.unit === 'ratio' ? 2 : 0).padStart(8)} ${r.unit}`);
console.log(`results written to ${out}`);
