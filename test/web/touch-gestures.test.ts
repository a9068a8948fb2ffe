// Touch gestures read as a mouse (pure logic; the gestures reaching a real guest are tested in
// Chromium by test/e2e/touch-and-size.test.ts). Bundled by esbuild, as web/build.ts does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

interface TouchPoint {
  id: number;
  x: number;
  y: number;
}
interface Action {
  kind: string;
  button?: string;
  direction?: string;
  x: number;
  y: number;
}
interface Gestures {
  update(touches: TouchPoint[]): Action[];
}
interface TouchModule {
  TouchGestures: new () => Gestures;
  TAP_SLOP: number;
  SCROLL_STEP: number;
}

const SOURCE = fileURLToPath(new URL('../../../web/src/touch-gestures.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-touch-gestures-'));
let m: TouchModule;

before(async () => {
  const out = join(dir, 'touch-gestures.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  m = (await import(pathToFileURL(out).href)) as TouchModule;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a sequence of touch states and gives every action, as "kind button/direction x,y". */
function run(states: TouchPoint[][]): string[] {
  const g = new m.TouchGestures();
  return states
    .flatMap((s) => g.update(s))
    .map((a) => `${a.kind}${a.button ? ` ${a.button}` : ''}${a.direction ? ` ${a.direction}` : ''} ${a.x},${a.y}`);
}
const f = (id: number, x: number, y: number): TouchPoint => ({ id, x, y });

test('a tap clicks the left button where the finger landed, even if it wandered a little', () => {
  assert.deepEqual(run([[f(1, 100, 50)], [f(1, 100 + m.TAP_SLOP - 1, 50)], []]), [
    'move 100,50',
    'press left 100,50',
    'release left 100,50',
  ]);
});

test('one finger moved beyond the slop drags with the left button from where it landed', () => {
  assert.deepEqual(run([[f(1, 100, 50)], [f(1, 105, 50)], [f(1, 130, 60)], [f(1, 200, 90)], []]), [
    'move 100,50',
    'press left 100,50',
    'move 130,60',
    'move 200,90',
    'release left 200,90',
  ]);
});

test('two fingers moving down turn the wheel up, one notch per step, and back down as they return', () => {
  const step = m.SCROLL_STEP;
  const actions = run([
    [f(1, 100, 100), f(2, 200, 100)],
    [f(1, 100, 100 + step - 1), f(2, 200, 100 + step - 1)], // not a full step yet
    [f(1, 100, 100 + 2 * step), f(2, 200, 100 + 2 * step)],
    [f(1, 100, 100 - step), f(2, 200, 100 - step)],
    [f(1, 100, 100 - step)],
    [],
  ]);
  assert.deepEqual(actions, [
    `move 150,${100 + 2 * step}`,
    `wheel up 150,${100 + 2 * step}`,
    `wheel up 150,${100 + 2 * step}`,
    `move 150,${100 - step}`,
    `wheel down 150,${100 - step}`,
    `wheel down 150,${100 - step}`,
    `wheel down 150,${100 - step}`,
  ]);
});

test('a second finger landing before the first moved makes a scroll, not a click', () => {
  const actions = run([[f(1, 100, 100)], [f(1, 100, 100), f(2, 140, 100)], [f(1, 100, 40), f(2, 140, 40)], [], []]);
  assert.deepEqual(actions, ['move 120,40', 'wheel down 120,40']);
});

test('two fingers tapped click the right button between them', () => {
  assert.deepEqual(run([[f(1, 100, 100), f(2, 120, 100)], [f(1, 100, 100)], []]), [
    'move 110,100',
    'press right 110,100',
    'release right 110,100',
  ]);
});

test('a finger added during a drag is ignored, and lifting the dragging finger first ends the gesture', () => {
  const actions = run([
    [f(1, 10, 10)],
    [f(1, 40, 10)],
    [f(1, 40, 10), f(2, 300, 300)],
    [f(1, 60, 10), f(2, 300, 400)],
    [f(2, 300, 400)],
    [f(2, 300, 200)],
    [],
  ]);
  assert.deepEqual(actions, ['move 10,10', 'press left 10,10', 'move 40,10', 'move 60,10', 'release left 60,10']);
});
