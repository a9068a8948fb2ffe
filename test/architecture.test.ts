// The floors of ARCHITECTURE.md, checked on the sources' own import statements: the control
// plane (gateway/) and the data path (proxy/) import nothing of each other, the floor beneath
// them (contract/) imports nothing above it, the proxy's core and rooms never reach into a
// protocol's folder, only the registries name a protocol, and no import loop exists.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // dist/test -> repository
const SOURCES = ['contract', 'gateway', 'proxy', 'serve', 'inventory', 'certs', 'state', 'web/src'];

interface Import {
  from: string;
  /** Repository path of a relative import, or the package name of a bare one. */
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
const DYNAMIC = /import\('([^']+)'\)/g;

function importsOf(file: string): Import[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  const resolve = (spec: string) => (spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : spec);
  for (const m of source.matchAll(IMPORT)) found.push({ from: file, to: resolve(m[3]!), typeOnly: m[2] !== undefined });
  for (const m of source.matchAll(DYNAMIC)) found.push({ from: file, to: resolve(m[1]!), typeOnly: false });
  return found;
}

const all = SOURCES.flatMap(files);
const edges = all.flatMap(importsOf);
const local = edges.filter((e) => e.to.endsWith('.ts'));
const under = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
/** Protocol folders: proxy/<name>/ with a descriptor.ts. */
const protocolFolders = all.filter((f) => /^proxy\/[^/]+\/descriptor\.ts$/.test(f)).map(dirname);

function offending(match: (e: Import) => boolean): string[] {
  return local.filter(match).map((e) => `${e.from} -> ${e.to}`);
}

test('the import graph was read: every source folder has files and imports', () => {
  for (const folder of SOURCES)
    assert.ok(
      all.some((f) => under(f, folder)),
      `no sources under ${folder}`,
    );
  assert.ok(local.length > 200, `only ${local.length} local imports found: the parser is broken`);
  assert.deepEqual(protocolFolders.sort(), ['proxy/rdp', 'proxy/spice', 'proxy/vnc']);
});

test('gateway/ and proxy/ import nothing of each other, nor of the wiring', () => {
  assert.deepEqual(
    offending((e) => under(e.from, 'gateway') && ['proxy', 'serve', 'web'].some((f) => under(e.to, f))),
    [],
  );
  assert.deepEqual(
    offending((e) => under(e.from, 'proxy') && ['gateway', 'serve', 'web'].some((f) => under(e.to, f))),
    [],
  );
});

test('contract/ is the floor: it imports only itself, Node and TypeBox', () => {
  assert.deepEqual(
    offending((e) => under(e.from, 'contract') && !under(e.to, 'contract')),
    [],
  );
  const packages = edges.filter((e) => under(e.from, 'contract') && !e.to.endsWith('.ts')).map((e) => e.to);
  assert.deepEqual(
    packages.filter((p) => !p.startsWith('node:') && p !== 'typebox'),
    [],
  );
});

test('inventory/, certs/ and state/ (shared state on Redis, used by both halves) stand on the floor only', () => {
  for (const folder of ['inventory', 'certs', 'state']) {
    assert.deepEqual(
      offending((e) => under(e.from, folder) && !under(e.to, folder) && !under(e.to, 'contract')),
      [],
    );
  }
});

test("the proxy's core and rooms never reach into a protocol's folder", () => {
  assert.deepEqual(
    offending((e) => under(e.from, 'proxy') && protocolFolders.some((p) => under(e.to, p) && !under(e.from, p))),
    [],
  );
});

test("a protocol's folder is named only by the registries, and its descriptor only beside them", () => {
  const registries = ['serve/protocols.ts', 'web/src/protocols.ts'];
  const outside = offending(
    (e) =>
      protocolFolders.some((p) => under(e.to, p) && !under(e.from, p)) &&
      !registries.includes(e.from) &&
      // A browser connector names its own protocol's descriptor (its id and label).
      !(under(e.from, 'web/src/connectors') && e.to.endsWith('/descriptor.ts')),
  );
  assert.deepEqual(outside, []);
});

test('web/ takes only types, descriptors and close codes from the server side (nothing else reaches the bundle)', () => {
  const reached = local.filter((e) => under(e.from, 'web/src') && !under(e.to, 'web/src'));
  assert.deepEqual(
    reached
      .filter(
        (e) =>
          !e.typeOnly &&
          !e.to.endsWith('/descriptor.ts') &&
          !['contract/api/headers.ts', 'contract/protocol.ts', 'contract/close-codes.ts'].includes(e.to),
      )
      .map((e) => `${e.from} -> ${e.to}`),
    [],
  );
});

test('no import loop', () => {
  const graph = new Map<string, string[]>();
  for (const e of local) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const loops: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      loops.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  assert.deepEqual(loops, []);
});
