// Stopping without interrupting a class: `porthole serve` (what `npm start` runs) as its own
// process, a live VNC session on a real QEMU display, then SIGTERM. The process stops taking new
// work at once and keeps the session until it ends, or closes it for its viewer to reconnect when
// drainSeconds run out; /metrics lives on its own listener, never on the public port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UserStore } from '../../gateway/users.js';
import { serve, type Served } from '../bed/served.js';
import { rfbUpdateRequest, vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { waitFor } from '../bed/deadline.js';

const DESKTOP = '33333333-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-drain-'));
let guest: QemuGuest;
let libvirt: string;

before(async () => {
  guest = await startQemuGuest({});
  libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: guest.vncPort, password: guest.vncPassword } },
  ])}`;
});
after(async () => {
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `porthole serve` with Alice as a user and this drainSeconds. */
async function startServed(name: string, drainSeconds: number): Promise<Served> {
  const data = join(dir, name);
  await new UserStore(data).upsert('alice', 'alice-password', 'user', []);
  return serve({ data, libvirt, config: { drainSeconds } });
}

/** A live VNC session of Alice's, with a first full picture received. */
async function liveSession(served: Served): Promise<{ reader: WireReader; width: number; height: number }> {
  const cookie = await served.client.signIn('alice', 'alice-password');
  const [attempt] = await served.client.connect(cookie, `${DESKTOP}`, { protocols: ['vnc'] });
  const reader = new WireReader(served.client.webSocket(attempt!.url, { cookie }));
  const { width, height } = await vncHandshake(reader);
  reader.ws.send(rfbUpdateRequest(width, height));
  await reader.read(4);
  return { reader, width, height };
}

test('SIGTERM drains: healthz 503 and new work refused at once, the live session goes on, the process exits once it ends', async () => {
  const served = await startServed('drain-until-end', 300);
  try {
    // Metrics are on their own listener, not on the public port.
    const scraped = await fetch(served.metricsUrl, { signal: AbortSignal.timeout(10_000) });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /porthole_proxy_connections_total|process_cpu_seconds_total/);
    assert.equal((await served.client.api('GET', '/metrics')).status, 404);

    const { reader, width, height } = await liveSession(served);
    const signalledAt = Date.now();
    served.child.kill('SIGTERM');
    await waitFor(async () => (await served.client.api('GET', '/healthz')).status === 503, 10_000, 'healthz never answered 503', 100);
    console.log(`# drain: healthz 503 ${Date.now() - signalledAt} ms after SIGTERM`);
    const health = await served.client.api('GET', '/healthz');
    assert.match((health.body as { error: string }).error, /restarting/);
    const signIn = await served.client.api('POST', '/api/login', { body: { username: 'alice', password: 'alice-password' } });
    assert.equal(signIn.status, 503);
    assert.match((signIn.body as { error: string }).error, /restarting\. Try again in a moment/);
    const upgrade = new WireReader(served.client.webSocket(`${served.wsOrigin}/ws/vnc?token=x`));
    await assert.rejects(upgrade.opened, /HTTP 503/);

    // Three seconds on, the session still carries display data both ways.
    await waitFor(async () => Date.now() - signalledAt >= 3000, 10_000, 'clock', 100);
    reader.ws.send(rfbUpdateRequest(width, height));
    const update = await reader.read(4);
    assert.equal(update[0], 0, 'a FramebufferUpdate after the drain began');
    assert.equal(served.child.exitCode, null, 'the process waits for the live session');

    // The session ends: the process exits by itself.
    reader.ws.close();
    const code = await Promise.race([served.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    assert.equal(code, 0, served.output());
    assert.match(served.output(), /draining/);
  } finally {
    served.kill();
  }
});

test('when drainSeconds run out, the sessions left are closed with the code that makes viewers reconnect; a second SIGTERM stops at once', async () => {
  const served = await startServed('drain-deadline', 2);
  try {
    const { reader } = await liveSession(served);
    served.child.kill('SIGTERM');
    const closed = await Promise.race([reader.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    assert.ok(closed, 'the session was not closed at the drain deadline');
    assert.equal(closed.code, 1012);
    assert.match(closed.reason, /restarting/);
    assert.equal(await served.exited, 0);
  } finally {
    served.kill();
  }
  const again = await startServed('drain-twice', 300);
  try {
    const { reader } = await liveSession(again);
    again.child.kill('SIGTERM');
    await waitFor(async () => (await again.client.api('GET', '/healthz')).status === 503, 10_000, 'healthz never answered 503', 100);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
    assert.notEqual((await reader.closed).code, 1012, 'stopped at once, not drained');
  } finally {
    again.kill();
  }
});
