// Characters from an on-screen keyboard turned into key presses (pure logic; the typing reaching
// a real guest is tested in Chromium by test/e2e/viewer.test.ts). Bundled by esbuild, as web/build.ts does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

interface KeyStroke {
  code: string;
  shift: boolean;
  char: string;
}
interface TextKeys {
  keysForText(text: string): { strokes: KeyStroke[]; missing: string[] };
  keysymOf(char: string): number;
}

const SOURCE = fileURLToPath(new URL('../../../web/src/text-keys.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-text-keys-'));
let m: TextKeys;

before(async () => {
  const out = join(dir, 'text-keys.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  m = (await import(pathToFileURL(out).href)) as TextKeys;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('letters, digits and punctuation become the keys a US keyboard presses, Shift where it needs it', () => {
  const { strokes, missing } = m.keysForText('aZ9 >_\n');
  assert.deepEqual(
    strokes.map((s) => [s.code, s.shift]),
    [
      ['KeyA', false],
      ['KeyZ', true],
      ['Digit9', false],
      ['Space', false],
      ['Period', true],
      ['Minus', true],
      ['Enter', false],
    ],
  );
  assert.deepEqual(missing, []);
});

test('a character with no key is reported rather than guessed, and Windows line ends are one Enter', () => {
  const { strokes, missing } = m.keysForText('é\r\n😀');
  assert.deepEqual(
    strokes.map((s) => s.code),
    ['Enter'],
  );
  assert.deepEqual(missing, ['é', '😀']);
});

test('keysyms: Latin-1 as itself, Enter as Return, anything else in the Unicode range', () => {
  assert.equal(m.keysymOf('a'), 0x61);
  assert.equal(m.keysymOf('\n'), 0xff0d);
  assert.equal(m.keysymOf('é'), 0xe9);
  assert.equal(m.keysymOf('€'), 0x10020ac);
});
