// Builds the web client: each page's entry point bundled with its protocol clients (noVNC,
// spice-html5; IronRDP as a chunk loaded on demand) by esbuild into dist/web/public, beside the HTML and CSS from web/public.
// Type checking is tsc's job (`tsc -p web/tsconfig.json`); esbuild only bundles.
import { cpSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url)); // dist/web/build.js -> repository
const out = `${root}dist/web/public`;

mkdirSync(out, { recursive: true });
cpSync(`${root}web/public`, out, { recursive: true });
await build({
  entryPoints: { index: `${root}web/src/index.ts`, viewer: `${root}web/src/viewer.ts`, helpdesk: `${root}web/src/helpdesk.ts` },
  outdir: out,
  bundle: true,
  format: 'esm',
  // Shared code and IronRDP (loaded only when an RDP attempt starts) go into their own chunks.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked', // noVNC (MPL-2.0) and spice-html5 (LGPL-3.0) notices ship beside the bundle
  logLevel: 'warning',
});
