// The benchmark harness refuses to run without its peers, naming what to install (the smoke run
// of every path is test/bench/harness-smoke.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../../bench/harness.js';

test('without websockify the harness stops and names its Debian package, installing nothing', async () => {
  // A PATH where no websockify (and no apt-get) can be found.
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(startHarness(), /websockify not found: apt-get install websockify \(Debian package websockify/);
  } finally {
    process.env.PATH = path;
  }
});
