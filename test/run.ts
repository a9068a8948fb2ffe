// `npm test`: every test file under dist/test, with Node's own test runner, one file at a time
// (the integration and end-to-end files boot real guests; two machine cores are not enough to run
// them side by side), end-to-end files last, and the log-secrecy check after all of them (it reads
// what the others recorded in the run's folder). Node sorts the files it is given by name, so
// each of these three groups is a run of its own, in this order. Arguments filter files by path;
// the log-secrecy check always runs. Each test has a deadline, so a hang fails with a message.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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
for (const group of groups) {
  const result = spawnSync(
    process.execPath,
    ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...group],
    { stdio: 'inherit', env: { ...process.env, PORTHOLE_TEST_RUN_DIR: runDir } },
  );
  if (result.status !== 0) failed = true;
}
if (!failed) rmSync(runDir, { recursive: true, force: true });
else console.error(`test/run: some tests failed; the run's recorded logs and secrets are kept in ${runDir}`);
process.exit(failed ? 1 : 0);
