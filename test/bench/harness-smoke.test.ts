// `npm run bench -- --smoke`: every part of the benchmark, each path briefly, so that the
// harness cannot rot. Not a timed test: it checks that every figure of every path is measured
// (a finite number, positive where nothing else makes sense), not how large it is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const EXPECTED: Record<string, string[]> = {
  raw: ['display MB/s', 'input MB/s', 'echo p50 ms', 'echo p99 ms'],
  socat: ['display MB/s', 'CPU-s/GB', 'echo p50 ms', 'echo p99 ms', 'CPU-us per round trip'],
  'node-tls': ['display MB/s', 'CPU-s/GB', 'echo p50 ms', 'setups/s', 'CPU-ms per setup'],
  websockify: [
    'display MB/s',
    'CPU-s/GB',
    'input MB/s',
    'echo p50 ms',
    'setups/s',
    'capacity: desktops at p99 < 5 ms',
    'capacity: desktops per core',
  ],
  stripped: ['display MB/s', 'CPU-s/GB', 'input MB/s', 'echo p50 ms', 'setups/s'],
  porthole: [
    'display MB/s',
    'CPU-s/GB',
    'input MB/s',
    'echo p50 ms',
    'echo p99 ms',
    'setups/s',
    'capacity: desktops at p99 < 5 ms',
    'capacity: desktops per core',
  ],
};

// Six paths and a capacity step, each with processes of its own: 146-148 s at a load average of
// 8, and over the run's 180 s per test at a load average of 15 (the fresh-machine trial).
const SMOKE_TIMEOUT_MS = 480_000;

test(
  'the benchmark in smoke mode measures every path: the full product, the stripped proxy, socat, Node TLS, websockify, raw TCP, and the capacity test',
  { timeout: SMOKE_TIMEOUT_MS },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-smoke-'));
    const out = join(dir, 'results.json');
    try {
      const script = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
      const child = spawn(process.execPath, [script, '--smoke'], {
        env: { ...process.env, PORTHOLE_BENCH_OUT: out },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: what it started ends with it
      });
      // A run cut short by the timeout ends the bench and every process it started.
      t.after(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, `the smoke run failed:\n${output}`);
      const results = JSON.parse(readFileSync(out, 'utf8')) as {
        figures: Record<string, Record<string, number>>;
        capacity: Record<string, Array<{ desktops: number; p99Ms: number; cores: number }>>;
        results: Array<{ name: string; value: number }>;
      };
      for (const [path, names] of Object.entries(EXPECTED)) {
        for (const name of names) {
          const value = results.figures[path]?.[name];
          assert.ok(typeof value === 'number' && Number.isFinite(value), `${path}: ${name} is ${value}`);
          // CPU time is read in ticks of 10 ms: a brief smoke run may spend less than one.
          if (!name.startsWith('capacity') && !name.includes('CPU')) assert.ok(value > 0, `${path}: ${name} is ${value}`);
          assert.ok(value >= 0, `${path}: ${name} is ${value}`);
        }
      }
      for (const path of ['porthole', 'websockify']) {
        const [step] = results.capacity[path]!;
        assert.ok(step && step.desktops === 2 && step.p99Ms > 0 && step.cores >= 0, `${path}: capacity step ${JSON.stringify(step)}`);
      }
      for (const r of results.results) assert.ok(Number.isFinite(r.value), `${r.name}: ${r.value}`);
      assert.match(output, /Porthole as `npm start` runs it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
