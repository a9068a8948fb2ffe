// The physical-key table the SPICE connector sends by (pure logic; the keys reaching a real guest
// are tested in Chromium by test/e2e/viewer.test.ts). Bundled by esbuild, as web/build.ts does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const SOURCE = fileURLToPath(new URL('../../../web/src/connectors/spice-scancodes.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-scancodes-'));
let spiceKeyCode: (code: string, down: boolean) => number | undefined;

before(async () => {
  const out = join(dir, 'spice-scancodes.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  ({ spiceKeyCode } = (await import(pathToFileURL(out).href)) as { spiceKeyCode: typeof spiceKeyCode });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('keys spice-html5 had no entry for get their set-1 scancodes: the ISO key, the keypad, Japanese keys', () => {
  assert.equal(spiceKeyCode('IntlBackslash', true), 0x56);
  assert.equal(spiceKeyCode('IntlBackslash', false), 0xd6, 'a release is the make code with 0x80');
  assert.equal(spiceKeyCode('NumpadMultiply', true), 0x37);
  assert.equal(spiceKeyCode('NumpadSubtract', true), 0x4a);
  assert.equal(spiceKeyCode('IntlRo', true), 0x73);
  assert.equal(spiceKeyCode('IntlYen', true), 0x7d);
  assert.equal(spiceKeyCode('KeyA', true), 0x1e);
});

test('extended keys carry the 0xE0 prefix in the low byte, as SPICE’s inputs channel reads them', () => {
  assert.equal(spiceKeyCode('ArrowUp', true), 0x48e0);
  assert.equal(spiceKeyCode('ArrowUp', false), 0xc8e0);
  assert.equal(spiceKeyCode('AltRight', true), 0x38e0, 'AltGr is the right Alt, distinct from the left one');
  assert.equal(spiceKeyCode('AltLeft', true), 0x38);
  assert.equal(spiceKeyCode('NumpadEnter', true), 0x1ce0);
});

test('a key with no scancode is undefined, so spice-html5 falls back to its own table', () => {
  assert.equal(spiceKeyCode('Fn', true), undefined);
  assert.equal(spiceKeyCode('', false), undefined);
});
