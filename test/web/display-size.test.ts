// The resolution asked of a guest and when (pure logic, with Node's mock timers; the guests'
// answers are tested in Chromium by test/e2e/touch-and-size.test.ts). Bundled by esbuild, as web/build.ts does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

interface Size {
  width: number;
  height: number;
}
interface DisplaySize {
  deviceResolution(css: Size, ratio: number): Size;
  SettledSize: new (act: (size: Size) => void, quietMs?: number) => { push(size: Size): void; forget(): void; stop(): void };
  SETTLE_MS: number;
  MIN_RESOLUTION: Size;
}

const SOURCE = fileURLToPath(new URL('../../../web/src/display-size.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-display-size-'));
let m: DisplaySize;

before(async () => {
  const out = join(dir, 'display-size.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  m = (await import(pathToFileURL(out).href)) as DisplaySize;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the resolution asked for is the window in device pixels, with an even width and a floor', () => {
  assert.deepEqual(m.deviceResolution({ width: 1366, height: 720 }, 1), { width: 1366, height: 720 });
  assert.deepEqual(m.deviceResolution({ width: 1366, height: 720 }, 2), { width: 2732, height: 1440 });
  assert.deepEqual(m.deviceResolution({ width: 390.5, height: 790.3 }, 3), { width: 1170, height: 2370 });
  assert.deepEqual(m.deviceResolution({ width: 683, height: 400 }, 1), { width: 682, height: 400 });
  assert.deepEqual(m.deviceResolution({ width: 100, height: 50 }, 1), m.MIN_RESOLUTION);
  assert.deepEqual(m.deviceResolution({ width: 800, height: 600 }, Number.NaN), { width: 800, height: 600 });
});

test('a burst of sizes asks once, for the last, after the window has been quiet; the same size is not asked twice', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const asked: Size[] = [];
    const settled = new m.SettledSize((s) => asked.push(s), m.SETTLE_MS);
    for (let w = 800; w <= 1000; w += 20) {
      settled.push({ width: w, height: 600 });
      mock.timers.tick(m.SETTLE_MS / 4);
    }
    assert.deepEqual(asked, []);
    mock.timers.tick(m.SETTLE_MS);
    assert.deepEqual(asked, [{ width: 1000, height: 600 }]);
    settled.push({ width: 1000, height: 600 });
    mock.timers.tick(m.SETTLE_MS);
    assert.equal(asked.length, 1, 'the unchanged size was asked again');
    settled.forget();
    settled.push({ width: 1000, height: 600 });
    mock.timers.tick(m.SETTLE_MS);
    assert.equal(asked.length, 2, 'after forget() the size is asked again (an agent that came back)');
    settled.push({ width: 640, height: 480 });
    settled.stop();
    mock.timers.tick(m.SETTLE_MS * 2);
    assert.equal(asked.length, 2, 'stopped, it asks nothing');
  } finally {
    mock.timers.reset();
  }
});
