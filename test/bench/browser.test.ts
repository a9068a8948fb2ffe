// The browser part of `npm run bench` in smoke mode: a few keys and a short scroll on each path
// (Porthole over SPICE and over VNC, noVNC through websockify), on the fast line, against the
// real guest, so that the measurement cannot rot. Not a timed test: it checks that every figure
// is measured (a positive, finite number), not how large it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchBrowser } from '../../bench/browser.js';

test('the browser benchmark measures key-to-screen latency and frames per second on every path', async () => {
  const results = await benchBrowser(true);
  for (const r of results) console.log(`# ${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
  for (const path of ['Porthole over SPICE', 'Porthole over VNC', 'noVNC through websockify'])
    for (const figure of ['key to screen p50', 'key to screen p99', 'frames/s on a scrolling console']) {
      const found = results.find((r) => r.name.includes(path) && r.name.endsWith(figure));
      assert.ok(found, `no "${figure}" for ${path}`);
      assert.ok(Number.isFinite(found.value) && found.value > 0, `${path}, ${figure}: ${found.value}`);
    }
});
