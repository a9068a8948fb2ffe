// `npm test`: every test file under dist/test, run by Node's own test runner.
// Unit and integration files run in parallel; end-to-end files (test/e2e) share one set of real
// guests and one browser, so they run one file at a time afterwards.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url)); // dist/test

function collect(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const all = collect(root)
  .filter((f) => filter.length === 0 || filter.some((p) => relative(root, f).includes(p)))
  .sort();
const e2e = all.filter((f) => relative(root, f).startsWith('e2e'));
const fast = all.filter((f) => !e2e.includes(f));

if (all.length === 0) {
  console.error('test/run: no test files matched', filter.join(' '));
  process.exit(1);
}

let failed = false;
for (const [files, concurrency] of [[fast, 2], [e2e, 1]] as const) {
  if (files.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
