// `npm test`: every test file under dist/test, with Node's own test runner, one file at a time
// (the integration and end-to-end files boot real guests; two machine cores are not enough to run
// them side by side), end-to-end files last, and the log-secrecy check after all of them (it reads
// what the others recorded in the run's folder). Node sorts the files it is given by name, so
// each of these three groups is a run of its own, in this order. Arguments filter files by path;
// the log-secrecy check always runs. Each test has a deadline, so a hang fails with a message.
// Each group runs in a process group of its own: what a crashed test process left running (the
// bed's Xvfb, FreeRDP, slapd...) is ended once the group is over, and named. Not a failure:
// esbuild's service process, which the web build leaves for the process's life, is one such.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Per test, generous: the longest tests boot a VM under TCG (traffic-wire, about 70 s) or a
 * browser and a guest (the first end-to-end test of a file, about 30 s) on two loaded cores.
 */
const TEST_TIMEOUT_MS = 180_000;
const LAST = join('security', 'log-secrecy.test.js');

const root = fileURLToPath(new URL('.', import.meta.url)); // dist/test

function collect(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const rank = (f: string) => (relative(root, f) === LAST ? 2 : relative(root, f).startsWith('e2e') ? 1 : 0);
const files = collect(root)
  .filter((f) => relative(root, f) !== LAST && (filter.length === 0 || filter.some((p) => relative(root, f).includes(p))))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

if (files.length === 0) {
  console.error('test/run: no test files matched', filter.join(' '));
  process.exit(1);
}
const groups = [files.filter((f) => rank(f) === 0), files.filter((f) => rank(f) === 1), [join(root, LAST)]].filter((g) => g.length > 0);

// Where the test bed records the run's secrets and gateway logs (test/bed/secret-record.ts).
const runDir = mkdtempSync(join(tmpdir(), 'porthole-test-run-'));
let failed = false;

/** Processes still in process group `group`, with their command names (from /proc). */
function leftIn(group: number): Array<{ pid: number; name: string }> {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": the name may hold spaces and parentheses.
      const close = stat.lastIndexOf(')');
      const pgrp = Number(stat.slice(close + 2).split(' ')[2]);
      return pgrp === group ? [{ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, close) }] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

async function endLeftovers(group: number): Promise<void> {
  const left = leftIn(group);
  if (left.length === 0) return;
  console.error(`test/run: ending what the tests left running: ${left.map((p) => `${p.name} (${p.pid})`).join(', ')}`);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-group, signal);
    } catch {
      return; // none left
    }
    const deadline = Date.now() + 5000;
    while (leftIn(group).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (leftIn(group).length === 0) return;
  }
}

for (const group of groups) {
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...group],
    { stdio: 'inherit', detached: true, env: { ...process.env, PORTHOLE_TEST_RUN_DIR: runDir } },
  );
  // Its own process group is not the terminal's: pass on an interrupt.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt).on('SIGTERM', onTerm);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  process.off('SIGINT', onInt).off('SIGTERM', onTerm);
  if (code !== 0) failed = true;
  await endLeftovers(child.pid!);
}
if (!failed) rmSync(runDir, { recursive: true, force: true });
else console.error(`test/run: some tests failed; the run's recorded logs and secrets are kept in ${runDir}`);
process.exit(failed ? 1 : 0);
