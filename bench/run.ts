// `npm run bench`: Porthole as `npm start` runs it, its stripped data path (a diagnostic), socat's
// TLS relay (the floor), Node's bare TLS relay, Debian's websockify and raw TCP, over the same
// synthetic displays in one run. Throughput and echo figures are medians of rounds in which the
// paths take turns (the machine is shared: a disturbance hits every path, not one), and the
// table gives the ratios the data-path issue targets. Then the capacity test: desktops streaming
// 20 Mbit/s each through one Porthole process, and through websockify, until a key's echo p99
// reaches 5 ms. Writes the figures as JSON (dist/bench/results.json, or PORTHOLE_BENCH_OUT);
// BENCHMARKS.md is edited by a person, with the machine and the date.
// `--smoke`: every part once, briefly, to prove the harness works (test/bench/harness-smoke.test.ts).
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startHarness, type BenchResult, type Capacity, type FloorPath, type ProxyPath, type Transfer } from './harness.js';
import { benchBrowser } from './browser.js';
import { benchDesktopList } from './desktop-list.js';
import { signInStorm } from './sign-in-storm.js';
import { clusterBench } from './cluster-setups.js';
import { benchTargetLookup } from './target-lookup.js';

const smoke = process.argv.includes('--smoke');
const rounds = smoke ? 1 : 5;
const megabytes = smoke ? 5 : 500;
const inputMegabytes = smoke ? 5 : 300;
const echoes = smoke ? 50 : 5000;
const sessions = smoke ? 6 : 300;
/** Setups in flight at once: enough to keep a proxy busy, few enough for websockify (it drops from ~490). */
const concurrency = smoke ? 3 : 8;
const idleSessions = smoke ? 10 : 1000;
/** Desktops tried in the capacity test, in order, until the echo's p99 reaches the target. */
const capacitySteps = smoke ? [2] : [10, 20, 40, 60, 80, 100, 130, 160, 200, 250, 320];
const capacityEchoes = smoke ? 50 : 2000;
const CAPACITY_P99_MS = 5;

const DISPLAY_PATHS = ['socat', 'node-tls', 'websockify', 'stripped', 'porthole'] as const;
const INPUT_PATHS = ['raw', 'websockify', 'stripped', 'porthole'] as const;
const ECHO_PATHS = ['raw', 'socat', 'node-tls', 'websockify', 'stripped', 'porthole'] as const;
type AnyPath = 'raw' | FloorPath | ProxyPath;
const LABEL: Record<AnyPath, string> = {
  raw: 'raw TCP',
  socat: "socat's TLS relay (the floor)",
  'node-tls': "Node's bare TLS relay",
  websockify: 'websockify over wss',
  stripped: "Porthole's stripped proxy (diagnostic)",
  porthole: 'Porthole as `npm start` runs it',
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
/** Each round starts with the next path, so no path is always first (or right after the same one). */
const turns = <T>(paths: readonly T[], round: number): T[] => paths.map((_, i) => paths[(i + round) % paths.length]!);

const harness = await startHarness();
const results: BenchResult[] = [];
/** Per path, for the smoke test and for readers of the JSON. */
const figures: Record<string, Record<string, number>> = {};
const put = (path: string, figure: string, value: number) => {
  (figures[path] ??= {})[figure] = value;
};
const capacity: Record<'porthole' | 'websockify', Capacity[]> = { porthole: [], websockify: [] };
try {
  // Display direction.
  const display: Record<string, Transfer[]> = {};
  const raw: number[] = [];
  for (let round = 0; round < rounds; round++) {
    raw.push(await harness.rawTcpThroughput(megabytes));
    for (const path of turns(DISPLAY_PATHS, round)) {
      const t =
        path === 'socat' || path === 'node-tls'
          ? await harness.floorThroughput(path, megabytes)
          : await harness.throughput(path, megabytes);
      (display[path] ??= []).push(t);
    }
  }
  put('raw', 'display MB/s', median(raw));
  for (const path of DISPLAY_PATHS) {
    put(path, 'display MB/s', median(display[path]!.map((t) => t.megabytesPerSecond)));
    put(path, 'CPU-s/GB', median(display[path]!.map((t) => t.cpuSecondsPerGB)));
  }
  // Input direction.
  const input: Record<string, number[]> = {};
  for (let round = 0; round < Math.min(rounds, 3); round++) {
    for (const path of turns(INPUT_PATHS, round)) (input[path] ??= []).push(await harness.inputThroughput(path, inputMegabytes));
  }
  for (const path of INPUT_PATHS) put(path, 'input MB/s', median(input[path]!));
  // Echo round trips.
  const echo: Record<string, { p50: number[]; p99: number[]; cpu: number[] }> = {};
  for (let round = 0; round < Math.min(rounds, 3); round++) {
    for (const path of turns(ECHO_PATHS, round)) {
      const e = await harness.echoLatency(path, echoes);
      const slot = (echo[path] ??= { p50: [], p99: [], cpu: [] });
      slot.p50.push(e.p50Ms);
      slot.p99.push(e.p99Ms);
      slot.cpu.push(e.cpuUsPerRoundTrip);
    }
  }
  for (const path of ECHO_PATHS) {
    put(path, 'echo p50 ms', median(echo[path]!.p50));
    put(path, 'echo p99 ms', median(echo[path]!.p99));
    if (path !== 'raw') put(path, 'CPU-us per round trip', median(echo[path]!.cpu));
  }
  // Session setups (full TLS handshakes), and memory per idle session.
  for (const path of ['node-tls', 'websockify', 'stripped', 'porthole'] as const) {
    const setups = await harness.setupRate(path, sessions, concurrency);
    put(path, 'setups/s', setups.perSecond);
    put(path, 'CPU-ms per setup', setups.cpuMsPerSetup);
  }
  for (const path of ['porthole', 'websockify'] as const) {
    // websockify forks a process per connection and drops connections from about the 490th.
    const n = path === 'websockify' ? Math.min(idleSessions, 300) : idleSessions;
    put(path, `KB per idle session (${n})`, (await harness.idleMemory(path, n)).kilobytesPerSession);
  }
  // Capacity: the largest number of 20 Mbit/s desktops with a key's echo p99 under 5 ms.
  for (const path of ['porthole', 'websockify'] as const) {
    const steps: Capacity[] = [];
    for (const desktops of capacitySteps) {
      const step = await harness.capacity(path, desktops, capacityEchoes);
      steps.push(step);
      console.log(
        `capacity, ${path}: ${desktops} desktops, echo p50 ${step.p50Ms.toFixed(2)} ms, p99 ${step.p99Ms.toFixed(2)} ms, ` +
          `proxy ${step.cores.toFixed(2)} cores, load generator ${step.generatorCores.toFixed(2)} cores`,
      );
      if (step.p99Ms >= CAPACITY_P99_MS) break;
    }
    capacity[path] = steps;
    const ok = steps.filter((s) => s.p99Ms < CAPACITY_P99_MS);
    const best = ok[ok.length - 1];
    put(path, 'capacity: desktops at p99 < 5 ms', best?.desktops ?? 0);
    put(path, 'capacity: proxy cores used there', best?.cores ?? 0);
    put(path, 'capacity: echo p99 ms there', best?.p99Ms ?? 0);
    // Per core of the proxy's own CPU: what one core carries before the echo slows.
    put(path, 'capacity: desktops per core', best ? best.desktops / Math.max(best.cores, 0.01) : 0);
  }

  const f = (path: AnyPath, figure: string) => figures[path]![figure]!;
  for (const path of ['raw', ...DISPLAY_PATHS] as const) {
    results.push({ name: `display direction, ${LABEL[path]}`, value: f(path, 'display MB/s'), unit: 'MB/s' });
  }
  for (const path of DISPLAY_PATHS) results.push({ name: `CPU per GB, ${LABEL[path]}`, value: f(path, 'CPU-s/GB'), unit: 'CPU-s/GB' });
  results.push(
    {
      name: 'Porthole / websockify CPU per GB (target <= 1)',
      value: f('porthole', 'CPU-s/GB') / f('websockify', 'CPU-s/GB'),
      unit: 'ratio',
    },
    { name: 'Porthole / socat CPU per GB (target <= 1.25)', value: f('porthole', 'CPU-s/GB') / f('socat', 'CPU-s/GB'), unit: 'ratio' },
    { name: 'stripped proxy / socat CPU per GB', value: f('stripped', 'CPU-s/GB') / f('socat', 'CPU-s/GB'), unit: 'ratio' },
    {
      name: 'Porthole / websockify throughput (target >= 1)',
      value: f('porthole', 'display MB/s') / f('websockify', 'display MB/s'),
      unit: 'ratio',
    },
  );
  for (const path of INPUT_PATHS) results.push({ name: `input direction, ${LABEL[path]}`, value: f(path, 'input MB/s'), unit: 'MB/s' });
  results.push({
    name: 'Porthole / websockify input (target >= 2)',
    value: f('porthole', 'input MB/s') / f('websockify', 'input MB/s'),
    unit: 'ratio',
  });
  for (const path of ECHO_PATHS) {
    results.push({ name: `echo p50, ${LABEL[path]}`, value: f(path, 'echo p50 ms'), unit: 'ms' });
    results.push({ name: `echo p99, ${LABEL[path]}`, value: f(path, 'echo p99 ms'), unit: 'ms' });
  }
  results.push(
    { name: 'Porthole added p50 over socat (target <= 0.05)', value: f('porthole', 'echo p50 ms') - f('socat', 'echo p50 ms'), unit: 'ms' },
    { name: 'Porthole added p99 over socat', value: f('porthole', 'echo p99 ms') - f('socat', 'echo p99 ms'), unit: 'ms' },
  );
  for (const path of ['node-tls', 'websockify', 'stripped', 'porthole'] as const) {
    results.push({ name: `setups (${concurrency} at a time), ${LABEL[path]}`, value: f(path, 'setups/s'), unit: 'sessions/s' });
    results.push({ name: `CPU per setup, ${LABEL[path]}`, value: f(path, 'CPU-ms per setup'), unit: 'ms' });
  }
  for (const path of ['porthole', 'websockify'] as const) {
    for (const [figure, value] of Object.entries(figures[path]!)) {
      if (figure.startsWith('KB per idle')) results.push({ name: `${figure}, ${LABEL[path]}`, value, unit: 'KB/session' });
      if (figure.startsWith('capacity'))
        results.push({ name: `${figure}, ${LABEL[path]}`, value, unit: figure.endsWith('ms there') ? 'ms' : '' });
    }
  }
  results.push({
    name: 'Porthole / websockify desktops per core (target >= 2)',
    value: f('porthole', 'capacity: desktops per core') / Math.max(f('websockify', 'capacity: desktops per core'), 1e-9),
    unit: 'ratio',
  });
} finally {
  await harness.close();
}
results.push(...(await signInStorm(smoke)));
// The cluster (issue 14): setups embedded and on Redis, with 1 and 2 workers; idle sessions over 3 nodes.
results.push(...(await clusterBench({ smoke })));
// The desktop list at 8:00: 6 hosts of 400 desktops, 500 lists at once (smoke: 2 x 20, 20 lists).
{
  const list = await benchDesktopList(smoke ? { hosts: 2, perHost: 20, students: 20 } : { hosts: 6, perHost: 400, students: 500 });
  const where = `${list.hosts} hosts, ${list.desktops} desktops`;
  results.push(
    { name: `desktop list: the first of the morning (${where})`, value: list.firstListMs, unit: 'ms' },
    { name: `desktop list: ${list.students} at once, p50 (${where})`, value: list.waveP50Ms, unit: 'ms' },
    { name: `desktop list: ${list.students} at once, p99 (${where})`, value: list.waveP99Ms, unit: 'ms' },
  );
}
// Finding a connection's target: the desktop read fresh from every host (smoke: 2 x 20, 50 lookups).
{
  const lookup = await benchTargetLookup(smoke ? { hosts: 2, perHost: 20, lookups: 50 } : { hosts: 6, perHost: 400, lookups: 1000 });
  const where = `${lookup.hosts} hosts, ${lookup.desktops} desktops`;
  results.push(
    { name: `target lookup per connection, p50 (${where})`, value: lookup.p50Ms, unit: 'ms' },
    { name: `target lookup per connection, p99 (${where})`, value: lookup.p99Ms, unit: 'ms' },
    { name: `target lookup: hypervisors read per connection (${where})`, value: lookup.hostReadsPerLookup, unit: '' },
  );
}

// What a person sees in Chromium, against a real guest (its smoke run is test/bench/browser.test.ts).
if (!smoke) results.push(...(await benchBrowser()));

const out = process.env.PORTHOLE_BENCH_OUT ?? fileURLToPath(new URL('./results.json', import.meta.url));
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() };
const settings = { smoke, rounds, megabytes, inputMegabytes, echoes, sessions, concurrency, idleSessions, capacityEchoes };
writeFileSync(out, `${JSON.stringify({ machine, settings, figures, capacity, results }, null, 2)}\n`);
console.log(`Porthole benchmarks (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.date})`);
console.log(`medians of ${rounds} alternating rounds (${megabytes} MB per display-direction figure); ratios are within this run`);
const digits = (unit: string) => (unit === 'ms' ? 3 : unit === 'ratio' || unit === 'CPU-s/GB' ? 2 : unit === '' ? 1 : 0);
for (const r of results) console.log(`${r.name.padEnd(78)} ${r.value.toFixed(digits(r.unit)).padStart(10)} ${r.unit}`);
console.log(`results written to ${out}`);
