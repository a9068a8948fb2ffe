// A small run of the benchmark harness, so that `npm run bench` cannot rot. Not a timed test:
// it checks that each figure is measured, not how large it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../../bench/harness.js';

test('the benchmark harness measures raw TCP, the bare TLS relay, websockify and Porthole on the same synthetic displays: both directions, round trips, setups, idle memory', async (t) => {
  const harness = await startHarness();
  t.after(() => harness.close());
  const figures = [await harness.rawTcpThroughput(5), await harness.inputThroughput('raw', 5)];
  const raw = await harness.echoLatency('raw', 20);
  const floor = await harness.floorThroughput(5);
  const floorEcho = await harness.echoLatency('floor', 20);
  figures.push(raw.p50Ms, raw.p99Ms, floor.megabytesPerSecond, floorEcho.p50Ms);
  assert.ok(floor.cpuSecondsPerGB >= 0, `floor: ${floor.cpuSecondsPerGB} CPU-s/GB`);
  for (const path of ['websockify', 'porthole'] as const) {
    const transfer = await harness.throughput(path, 5);
    const setups = await harness.setupRate(path, 6, 3);
    const resumed = await harness.setupRate(path, 6, 2, true);
    assert.ok(resumed.resumed >= 0 && resumed.resumed <= 1, `${path}: resumed share ${resumed.resumed}`);
    if (path === 'porthole') assert.ok(resumed.resumed > 0, 'Porthole resumes TLS sessions');
    figures.push(transfer.megabytesPerSecond, setups.perSecond, await harness.inputThroughput(path, 5));
    assert.ok(setups.cpuMsPerSetup >= 0, `${path}: ${setups.cpuMsPerSetup} CPU-ms per setup`);
    assert.ok(transfer.cpuSecondsPerGB >= 0, `${path}: ${transfer.cpuSecondsPerGB} CPU-s/GB`);
    const echo = await harness.echoLatency(path, 20);
    assert.ok(echo.p99Ms >= echo.p50Ms, `${path}: p99 ${echo.p99Ms} below p50 ${echo.p50Ms}`);
    figures.push(echo.p50Ms);
    const idle = await harness.idleMemory(path, 10);
    assert.equal(idle.sessions, 10);
    assert.ok(Number.isFinite(idle.kilobytesPerSession), `${path}: ${idle.kilobytesPerSession} KB/session`);
  }
  for (const value of figures) assert.ok(Number.isFinite(value) && value > 0, `measured ${value}`);
});

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
