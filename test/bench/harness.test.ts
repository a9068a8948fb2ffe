// A small run of the benchmark harness, so that `npm run bench` cannot rot. Not a timed test:
// it checks that each figure is measured, not how large it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../../bench/harness.js';

test('the benchmark harness measures raw TCP and Porthole on the same synthetic display', async (t) => {
  const harness = await startHarness();
  t.after(() => harness.close());
  for (const value of [await harness.rawTcpThroughput(5), await harness.portholeThroughput(5), await harness.setupRate(3)]) {
    assert.ok(Number.isFinite(value) && value > 0, `measured ${value}`);
  }
});
