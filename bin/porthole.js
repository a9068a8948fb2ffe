#!/usr/bin/env node
// The `porthole` command. The TypeScript sources are compiled to dist/ on install
// (npm's prepare script) and again before `npm start`; this launcher only loads them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/serve/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('porthole: not built yet. Run `npm install` (or `npm run build`) in the repository first.');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
