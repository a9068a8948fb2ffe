// Builds the web client: each page's entry point bundled with its protocol clients (noVNC,
// spice-html5; IronRDP as a chunk loaded on demand) by esbuild into dist/web/public, beside the HTML and CSS from web/public.
// Type checking is tsc's job (`tsc -p web/tsconfig.json`); esbuild only bundles.
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { spiceHtml5Patches } from './patches/spice-html5.js';
import { sourcePatchPlugin } from './patches/source-patch.js';

const root = fileURLToPath(new URL('../../', import.meta.url)); // dist/web/build.js -> repository
const out = `${root}dist/web/public`;

mkdirSync(out, { recursive: true });
cpSync(`${root}web/public`, out, { recursive: true });
await build({
  entryPoints: {
    index: `${root}web/src/index.ts`,
    viewer: `${root}web/src/viewer.ts`,
    helpdesk: `${root}web/src/helpdesk.ts`,
    admin: `${root}web/src/admin/main.ts`,
  },
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
  // Fixes for spice-html5 bugs, until upstream releases them (web/patches/README.md).
  plugins: [sourcePatchPlugin('@spice-project/spice-html5', `${root}node_modules/@spice-project/spice-html5`, spiceHtml5Patches)],
});

// Pre-compressed copies, served by @fastify/static (preCompressed) to browsers that accept them:
// IronRDP's chunk is 6 MB as JavaScript, 1.8 MB with brotli. Not the HTML pages: with
// preCompressed, @fastify/static then answers 404 for the index at / (fastify-static#270).
function compressTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      compressTree(path);
      continue;
    }
    if (!/\.(js|css)$/.test(name) || statSync(path).size < 1024) continue;
    const content = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }));
  }
}
compressTree(out);
