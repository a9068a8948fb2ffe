// `npm run bench`: Porthole, Debian's websockify and raw TCP over the same synthetic display in
// one run; prints a table with the ratios the data-path issue targets and writes the figures as
// JSON (dist/bench/results.json, or PORTHOLE_BENCH_OUT). It updates nothing else: BENCHMARKS.md
// is edited by a person, with the machine and the date.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startHarness, type BenchResult, type Transfer } from './harness.js';

const smoke = process.argv.includes('--smoke'); // a quick run that only proves the harness works
const megabytes = smoke ? 20 : 1000;
const sessions = smoke ? 10 : 200;

const harness = await startHarness();
const results: BenchResult[] = [];
try {
  /** Best of three: the machine is shared, and the best run is the least disturbed. */
  const best = async (f: () => Promise<Transfer>): Promise<Transfer> => {
    const runs = [await f(), await f(), await f()];
    return runs.reduce((a, b) => (b.megabytesPerSecond > a.megabytesPerSecond ? b : a));
  };
  const raw = Math.max(await harness.rawTcpThroughput(megabytes), await harness.rawTcpThroughput(megabytes), await harness.rawTcpThroughput(megabytes));
  const websockify = await best(() => harness.throughput('websockify', megabytes));
  const porthole = await best(() => harness.throughput('porthole', megabytes));
  const websockifySetups = await harness.setupRate('websockify', sessions);
  const portholeSetups = await harness.setupRate('porthole', sessions);
  results.push(
    { name: 'display direction, raw TCP (the limit)', value: raw, unit: 'MB/s' },
    { name: 'display direction, websockify over wss', value: websockify.megabytesPerSecond, unit: 'MB/s' },
    { name: 'display direction, Porthole over wss', value: porthole.megabytesPerSecond, unit: 'MB/s' },
    { name: 'Porthole / websockify throughput (target >= 2)', value: porthole.megabytesPerSecond / websockify.megabytesPerSecond, unit: 'ratio' },
    { name: 'Porthole / raw TCP throughput (target >= 0.5)', value: porthole.megabytesPerSecond / raw, unit: 'ratio' },
    { name: 'websockify CPU per GB relayed', value: websockify.cpuSecondsPerGB, unit: 'CPU-s/GB' },
    { name: 'Porthole CPU per GB relayed', value: porthole.cpuSecondsPerGB, unit: 'CPU-s/GB' },
    { name: 'Porthole / websockify CPU per GB (target <= 0.5)', value: porthole.cpuSecondsPerGB / websockify.cpuSecondsPerGB, unit: 'ratio' },
    { name: 'session setups, websockify over wss', value: websockifySetups, unit: 'sessions/s' },
    { name: 'session setups, Porthole over wss (token verified)', value: portholeSetups, unit: 'sessions/s' },
    { name: 'Porthole / websockify setups (target >= 10)', value: portholeSetups / websockifySetups, unit: 'ratio' },
  );
} finally {
  await harness.close();
}

const out = process.env.PORTHOLE_BENCH_OUT ?? fileURLToPath(new URL('./results.json', import.meta.url));
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
writeFileSync(out, `${JSON.stringify({ machine, megabytes, sessions, results }, null, 2)}\n`);
console.log(`Porthole benchmarks (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.date})`);
for (const r of results) console.log(`${r.name.padEnd(58)} ${r.value.toFixed(r.unit === 'ratio' || r.unit === 'CPU-s/GB' ? 2 : 0).padStart(9)} ${r.unit}`);
console.log(`results written to ${out}`);
