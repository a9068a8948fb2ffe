// A small run of the benchmark harness, so that `npm run bench` cannot rot. Not a timed test:
// it checks that each figure is measured, not how large it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../../bench/harness.js';

test('the benchmark harness measures raw TCP, websockify and Porthole on the same synthetic display', async (t) => {
  const harness = await startHarness();
  t.after(() => harness.close());
  const figures = [await harness.rawTcpThroughput(5)];
  for (const path of ['websockify', 'porthole'] as const) {
    const transfer = await harness.throughput(path, 5);
    figures.push(transfer.megabytesPerSecond, await harness.setupRate(path, 3));
    assert.ok(transfer.cpuSecondsPerGB >= 0, `${path}: ${transfer.cpuSecondsPerGB} CPU-s/GB`);
  }
  for (const value of figures) assert.ok(Number.isFinite(value) && value > 0, `measured ${value}`);
});
