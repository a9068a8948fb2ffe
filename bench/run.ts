// `npm run bench`: Porthole, Debian's websockify and raw TCP over the same synthetic display in
// one run; prints a table with the ratios the data-path issue targets and writes the figures as
// JSON (dist/bench/results.json, or PORTHOLE_BENCH_OUT). It updates nothing else: BENCHMARKS.md
// is edited by a person, with the machine and the date.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startHarness, type BenchResult, type Transfer } from './harness.js';
import { largestIdleCount } from './open-files.js';
import { signInStorm } from './sign-in-storm.js';

const smoke = process.argv.includes('--smoke'); // a quick run that only proves the harness works
const megabytes = smoke ? 20 : 1000;
const sessions = smoke ? 10 : 400;
/** Setups in flight at once: enough to keep a proxy busy, few enough for websockify (it drops from ~490). */
const concurrency = 8;
const echoes = smoke ? 200 : 20000;
const idleCounts = smoke ? [50] : [1000, largestIdleCount(10_000)];

const harness = await startHarness();
const results: BenchResult[] = [];
try {
  /** Best of three: the machine is shared, and the best run is the least disturbed. */
  const best = async (f: () => Promise<Transfer>): Promise<Transfer> => {
    const runs = [await f(), await f(), await f()];
    return runs.reduce((a, b) => (b.megabytesPerSecond > a.megabytesPerSecond ? b : a));
  };
  const raw = Math.max(
    await harness.rawTcpThroughput(megabytes),
    await harness.rawTcpThroughput(megabytes),
    await harness.rawTcpThroughput(megabytes),
  );
  const floor = await best(() => harness.floorThroughput(megabytes));
  const websockify = await best(() => harness.throughput('websockify', megabytes));
  const porthole = await best(() => harness.throughput('porthole', megabytes));
  const floorSetups = await harness.setupRate('floor', sessions, concurrency);
  const websockifySetups = await harness.setupRate('websockify', sessions, concurrency);
  const portholeSetups = await harness.setupRate('porthole', sessions, concurrency);
  // As a browser opens a desktop's connections: each TLS handshake offers the last session ticket.
  const floorResumed = await harness.setupRate('floor', sessions, concurrency, true);
  const websockifyResumed = await harness.setupRate('websockify', sessions, concurrency, true);
  const portholeResumed = await harness.setupRate('porthole', sessions, concurrency, true);
  const bestOf3 = async (f: () => Promise<number>) => Math.max(await f(), await f(), await f());
  const rawInput = await bestOf3(() => harness.inputThroughput('raw', megabytes));
  const websockifyInput = await bestOf3(() => harness.inputThroughput('websockify', megabytes));
  const portholeInput = await bestOf3(() => harness.inputThroughput('porthole', megabytes));
  const rawEcho = await harness.echoLatency('raw', echoes);
  const floorEcho = await harness.echoLatency('floor', echoes);
  const websockifyEcho = await harness.echoLatency('websockify', echoes);
  const portholeEcho = await harness.echoLatency('porthole', echoes);
  const idle: BenchResult[] = [];
  for (const n of idleCounts) {
    idle.push({
      name: `idle sessions: Porthole, ${n} sessions`,
      value: (await harness.idleMemory('porthole', n)).kilobytesPerSession,
      unit: 'KB/session',
    });
  }
  // websockify forks a process per connection; here it drops connections from about the
  // 490th concurrent one (1006, no close frame), so its cost is measured with 300.
  const websockifyIdleCount = Math.min(idleCounts[0]!, 300);
  const websockifyIdle = (await harness.idleMemory('websockify', websockifyIdleCount)).kilobytesPerSession;
  results.push(
    { name: 'display direction, raw TCP (the limit)', value: raw, unit: 'MB/s' },
    { name: 'display direction, bare TLS relay in Node (the floor)', value: floor.megabytesPerSecond, unit: 'MB/s' },
    { name: 'display direction, websockify over wss', value: websockify.megabytesPerSecond, unit: 'MB/s' },
    { name: 'display direction, Porthole over wss', value: porthole.megabytesPerSecond, unit: 'MB/s' },
    {
      name: 'Porthole / websockify throughput (target >= 2)',
      value: porthole.megabytesPerSecond / websockify.megabytesPerSecond,
      unit: 'ratio',
    },
    { name: 'Porthole / raw TCP throughput (target >= 0.5)', value: porthole.megabytesPerSecond / raw, unit: 'ratio' },
    { name: 'bare TLS relay CPU per GB relayed (the floor)', value: floor.cpuSecondsPerGB, unit: 'CPU-s/GB' },
    { name: 'websockify CPU per GB relayed', value: websockify.cpuSecondsPerGB, unit: 'CPU-s/GB' },
    { name: 'Porthole CPU per GB relayed', value: porthole.cpuSecondsPerGB, unit: 'CPU-s/GB' },
    {
      name: 'Porthole / websockify CPU per GB (target <= 0.5)',
      value: porthole.cpuSecondsPerGB / websockify.cpuSecondsPerGB,
      unit: 'ratio',
    },
    { name: 'Porthole / floor CPU per GB', value: porthole.cpuSecondsPerGB / floor.cpuSecondsPerGB, unit: 'ratio' },
    { name: `session setups, websockify over wss (${concurrency} at a time)`, value: websockifySetups.perSecond, unit: 'sessions/s' },
    {
      name: `session setups, Porthole over wss, token verified (${concurrency} at a time)`,
      value: portholeSetups.perSecond,
      unit: 'sessions/s',
    },
    { name: 'Porthole / websockify setups (target >= 10)', value: portholeSetups.perSecond / websockifySetups.perSecond, unit: 'ratio' },
    { name: `session setups, bare TLS relay (${concurrency} at a time)`, value: floorSetups.perSecond, unit: 'sessions/s' },
    { name: 'bare TLS relay CPU per setup (the floor: TLS handshake, TCP connect)', value: floorSetups.cpuMsPerSetup, unit: 'ms' },
    { name: 'websockify CPU per setup', value: websockifySetups.cpuMsPerSetup, unit: 'ms' },
    { name: 'Porthole CPU per setup', value: portholeSetups.cpuMsPerSetup, unit: 'ms' },
    { name: 'websockify / Porthole CPU per setup', value: websockifySetups.cpuMsPerSetup / portholeSetups.cpuMsPerSetup, unit: 'ratio' },
    { name: 'TLS resumed: bare TLS relay setups', value: floorResumed.perSecond, unit: 'sessions/s' },
    { name: 'TLS resumed: websockify setups', value: websockifyResumed.perSecond, unit: 'sessions/s' },
    { name: 'TLS resumed: Porthole setups', value: portholeResumed.perSecond, unit: 'sessions/s' },
    { name: 'TLS resumed: Porthole / websockify setups', value: portholeResumed.perSecond / websockifyResumed.perSecond, unit: 'ratio' },
    { name: 'TLS resumed: bare TLS relay CPU per setup', value: floorResumed.cpuMsPerSetup, unit: 'ms' },
    { name: 'TLS resumed: websockify CPU per setup', value: websockifyResumed.cpuMsPerSetup, unit: 'ms' },
    { name: 'TLS resumed: Porthole CPU per setup', value: portholeResumed.cpuMsPerSetup, unit: 'ms' },
    { name: 'TLS resumed: share of handshakes resumed, websockify', value: websockifyResumed.resumed, unit: 'ratio' },
    { name: 'TLS resumed: share of handshakes resumed, Porthole', value: portholeResumed.resumed, unit: 'ratio' },
    { name: 'input direction, raw TCP', value: rawInput, unit: 'MB/s' },
    { name: 'input direction, websockify over wss', value: websockifyInput, unit: 'MB/s' },
    { name: 'input direction, Porthole over wss', value: portholeInput, unit: 'MB/s' },
    { name: 'echo round trip p50, raw TCP', value: rawEcho.p50Ms, unit: 'ms' },
    { name: 'echo round trip p99, raw TCP', value: rawEcho.p99Ms, unit: 'ms' },
    { name: 'echo round trip p50, bare TLS relay', value: floorEcho.p50Ms, unit: 'ms' },
    { name: 'echo round trip p99, bare TLS relay', value: floorEcho.p99Ms, unit: 'ms' },
    { name: 'echo round trip p50, websockify over wss', value: websockifyEcho.p50Ms, unit: 'ms' },
    { name: 'echo round trip p99, websockify over wss', value: websockifyEcho.p99Ms, unit: 'ms' },
    { name: 'echo round trip p50, Porthole over wss', value: portholeEcho.p50Ms, unit: 'ms' },
    { name: 'echo round trip p99, Porthole over wss', value: portholeEcho.p99Ms, unit: 'ms' },
    { name: 'bare TLS relay CPU per round trip (the floor)', value: floorEcho.cpuUsPerRoundTrip, unit: 'us' },
    { name: 'websockify CPU per round trip', value: websockifyEcho.cpuUsPerRoundTrip, unit: 'us' },
    { name: 'Porthole CPU per round trip', value: portholeEcho.cpuUsPerRoundTrip, unit: 'us' },
    {
      name: 'websockify / Porthole CPU per round trip',
      value: websockifyEcho.cpuUsPerRoundTrip / portholeEcho.cpuUsPerRoundTrip,
      unit: 'ratio',
    },
    { name: 'Porthole added p50 over raw TCP (target <= 0.1)', value: portholeEcho.p50Ms - rawEcho.p50Ms, unit: 'ms' },
    { name: 'Porthole added p99 over raw TCP (target <= 1)', value: portholeEcho.p99Ms - rawEcho.p99Ms, unit: 'ms' },
    ...idle,
    { name: `idle sessions: websockify, ${websockifyIdleCount} sessions`, value: websockifyIdle, unit: 'KB/session' },
  );
} finally {
  await harness.close();
}
results.push(...(await signInStorm(smoke)));

const out = process.env.PORTHOLE_BENCH_OUT ?? fileURLToPath(new URL('./results.json', import.meta.url));
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
writeFileSync(out, `${JSON.stringify({ machine, megabytes, sessions, results }, null, 2)}\n`);
console.log(`Porthole benchmarks (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.date})`);
const digits = (unit: string) => (unit === 'ms' ? 3 : unit === 'ratio' || unit === 'CPU-s/GB' || unit === 'us' ? 2 : 0);
for (const r of results) console.log(`${r.name.padEnd(72)} ${r.value.toFixed(digits(r.unit)).padStart(9)} ${r.unit}`);
console.log(`results written to ${out}`);
