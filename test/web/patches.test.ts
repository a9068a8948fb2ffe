// The spice-html5 patches apply to the installed package exactly as written, and a patch whose
// text is gone (an upgraded package) fails loudly instead of being skipped.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { applyPatches } from '../../web/patches/source-patch.js';
import { spiceHtml5Patches } from '../../web/patches/spice-html5.js';

const PACKAGE = fileURLToPath(new URL('../../../node_modules/@spice-project/spice-html5/', import.meta.url));

test('the spice-html5 patches apply to the installed display.js, each where it expects', () => {
  const original = readFileSync(`${PACKAGE}src/display.js`, 'utf8');
  const patched = applyPatches(
    original,
    spiceHtml5Patches.filter((p) => p.file === 'src/display.js'),
    'display.js',
  );
  assert.ok(!patched.includes('    if (this.o.sc.streams[this.o.id])\n'), 'no unchecked stream lookup is left');
  assert.equal(patched.split('img.onload = handle_held_jpeg_onload;').length - 1, 2, 'both JPEG kinds hold the display messages');
  assert.match(patched, /SpiceDisplayConn\.prototype\.process_display_message = function\(msg\)/);
});

test('the spice-html5 patches apply to spicemsg.js: mouse positions are scaled back from a canvas shrunk to the window', () => {
  const original = readFileSync(`${PACKAGE}src/spicemsg.js`, 'utf8');
  const patched = applyPatches(
    original,
    spiceHtml5Patches.filter((p) => p.file === 'src/spicemsg.js'),
    'spicemsg.js',
  );
  assert.ok(!/= e\.offset[XY];/.test(patched), 'no unscaled position is sent');
  assert.equal(patched.split('e.porthole_scancode !== undefined ?').length - 1, 2, 'presses and releases go by physical key');
  // The scaling, run as the browser would: a 1024x768 surface shown at 512x384.
  const scaled = new Function(
    `${/function surface_x[^]*?\n}\n\nfunction surface_y[^]*?\n}\n/.exec(patched)![0]}; return [surface_x, surface_y];`,
  )() as Array<(e: object) => number>;
  const canvas = { width: 1024, height: 768, clientWidth: 512, clientHeight: 384 };
  assert.deepEqual(
    scaled.map((f) => f({ target: canvas, offsetX: 100, offsetY: 50 })),
    [200, 100],
  );
  assert.deepEqual(
    scaled.map((f) => f({ target: { ...canvas, clientWidth: 1024, clientHeight: 768 }, offsetX: 100, offsetY: 50 })),
    [100, 50],
  );
});

test('a patch whose text is not found fails, naming its fix', () => {
  assert.throws(
    () => applyPatches('nothing to patch', [{ file: 'x.js', why: 'the reason', find: 'absent', replace: 'y' }], 'pkg/x.js'),
    /pkg\/x\.js: a patch expects its text 1 time\(s\), found 0.*the reason/,
  );
});

test('the spice-html5 patches apply to main.js: the playback channel keeps a place of its own, and stop() closes it and the cursor channel', () => {
  const original = readFileSync(`${PACKAGE}src/main.js`, 'utf8');
  const patched = applyPatches(
    original,
    spiceHtml5Patches.filter((p) => p.file === 'src/main.js'),
    'main.js',
  );
  assert.ok(!patched.includes('this.cursor = new SpicePlaybackConn'), 'the playback channel no longer replaces the cursor channel');
  assert.match(patched, /this\.playback = new SpicePlaybackConn\(conn\);\n\s+if \(this\.porthole_playback_opened !== undefined\)/);
  const stop = /SpiceMainConn\.prototype\.stop = function[^]*?\n}\n/.exec(patched)![0];
  assert.match(stop, /this\.cursor\.cleanup\(\)/);
  assert.match(stop, /this\.playback\.cleanup\(\)/);
});
