// `npm test`: every test file under dist/test, in one run of Node's own test runner, one file at
// a time (the integration and end-to-end files boot real guests; two machine cores are not
// enough to run them side by side), end-to-end files last. Arguments filter files by path.
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
const files = collect(root)
  .filter((f) => filter.length === 0 || filter.some((p) => relative(root, f).includes(p)))
  .sort((a, b) => Number(relative(root, a).startsWith('e2e')) - Number(relative(root, b).startsWith('e2e')) || a.localeCompare(b));

if (files.length === 0) {
  console.error('test/run: no test files matched', filter.join(' '));
  process.exit(1);
}

const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
