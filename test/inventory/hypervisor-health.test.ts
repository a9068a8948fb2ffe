// A real libvirtd as a hypervisor that goes away and comes back: administrators read it as
// connected, then reconnecting, then down since when with libvirt's reason (in the API and in
// metrics), a start on it is refused with 503 naming the host, and it is connected again by itself
// once the daemon is back. Before that, the bulk statistics of a real running guest: its CPU,
// memory and figures that change, in the admin API and in metrics.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Inventory } from '../../inventory/inventory.js';
import { PROTOCOLS } from '../../serve/protocols.js';
import { waitForValue } from '../bed/deadline.js';
import { defineDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startIsolatedLibvirtd, type Libvirtd } from '../bed/libvirtd.js';

let host: Libvirtd | undefined;
let gw: RunningGateway | undefined;
let admin = '';

before(async () => {
  host = await startIsolatedLibvirtd({ hostname: 'hv-health', displayPorts: [22200, 22249], migrationPorts: [22250, 22299] });
  gw = await startTestGateway({
    libvirt: `hv-health=${host.uri}`,
    users: [
      { name: 'ada', password: 'ada-password', role: 'admin' },
      { name: 'alice', password: 'alice-password', role: 'user' },
    ],
  });
  admin = await gw.signIn('ada', 'ada-password');
});

after(async () => {
  await gw?.close();
  await host?.stop();
});

type Health = { name: string; state: string; since: string; reason?: string; reachable: boolean; desktops: number; running: number };
type Figures = { id: string; hypervisor: string; at: string; cpu?: number; vcpus?: number; memoryBytes?: number; residentBytes?: number };

const health = async () => {
  const res = await gw!.api('GET', '/api/hypervisors', { cookie: admin });
  assert.equal(res.status, 200);
  return (res.body as Health[])[0]!;
};

test("a running guest's figures from one bulk statistics call: CPU above 0 and changing, memory, in the admin API and metrics", async () => {
  const desktop = await defineDesktop(host!.uri, { name: 'figures-desk', users: ['alice'] });
  // The inventory itself, reading every second, to see the numbers change without waiting long.
  const inventory = new Inventory([{ name: 'hv-health', uri: host!.uri }], PROTOCOLS, undefined, undefined, { figuresIntervalMs: 1000 });
  try {
    const first = await inventory.figures();
    assert.deepEqual(
      first.map((f) => [f.id, f.hypervisor]),
      [[desktop.uuid, 'hv-health']],
    );
    assert.equal(first[0]!.vcpus, 1);
    assert.equal(first[0]!.memoryBytes, 256 * 1024 * 1024, 'the guest has its 256 MiB');
    const cpus: number[] = [];
    await waitForValue(
      async () => {
        const [f] = await inventory.figures();
        if (f?.cpu !== undefined && cpus.at(-1) !== f.cpu) cpus.push(f.cpu);
        return cpus;
      },
      (seen) => seen.length >= 2,
      20_000,
      'two different CPU figures',
      300,
    );
    assert.ok(
      cpus.every((c) => c > 0 && c <= 1),
      `CPU shares above 0 (${cpus.join(', ')})`,
    );
    console.log(`# CPU of an idle TCG guest, read twice a second apart: ${cpus.map((c) => `${(c * 100).toFixed(1)} %`).join(', ')}`);

    // The gateway's admin API and metrics (its own readings, every 10 s: the first has memory).
    const res = await gw!.api('GET', '/api/desktops/figures', { cookie: admin });
    assert.equal(res.status, 200);
    const figures = res.body as Figures[];
    assert.equal(figures.length, 1);
    assert.equal(figures[0]!.id, desktop.uuid);
    assert.ok((figures[0]!.memoryBytes ?? 0) > 0);
    assert.equal((await gw!.api('GET', '/api/desktops/figures', { cookie: await gw!.signIn('alice', 'alice-password') })).status, 403);
    const metrics = await gw!.metrics();
    assert.match(
      metrics,
      new RegExp(`porthole_desktop_memory_bytes\\{desktop="${desktop.uuid}",hypervisor="hv-health",kind="guest"\\} 268435456`),
    );
  } finally {
    await inventory.close();
    await desktop.destroy();
  }
});

test('libvirtd stops: reconnecting, then down with its reason and a 503 naming the host; started again, connected by itself', async () => {
  const up = await health();
  assert.equal(up.state, 'connected');
  assert.equal(up.reachable, true);
  assert.match(await gw!.metrics(), /porthole_hypervisor_state\{hypervisor="hv-health",state="connected"\} 1/);

  await host!.stopDaemon();
  const stoppedAt = Date.now();
  const seen: string[] = [];
  const down = await waitForValue(
    async () => {
      const h = await health();
      if (seen.at(-1) !== h.state) seen.push(h.state);
      return h;
    },
    (h) => h.state === 'down',
    30_000,
    'the host to be down',
    100,
  );
  console.log(`# libvirtd stopped: ${seen.join(' -> ')} after ${Date.now() - stoppedAt} ms`);
  assert.deepEqual(seen, ['connected', 'reconnecting', 'down'], 'noticed without a request to it, then retried before it was down');
  assert.equal(down.reachable, false);
  assert.match(down.reason ?? '', /libvirt-sock|connect|socket/i, `libvirt's reason: ${down.reason}`);
  assert.ok(Date.parse(down.since) >= stoppedAt - 1000, 'down since after the stop');
  assert.match(await gw!.metrics(), /porthole_hypervisor_state\{hypervisor="hv-health",state="down"\} 1/);

  // Starting a desktop there (it may be that host's): refused, naming the host.
  const alice = await gw!.signIn('alice', 'alice-password');
  const refused = await gw!.api('POST', '/api/desktops/55555555-0000-4000-8000-000000000001/start', { cookie: alice, body: {} });
  assert.equal(refused.status, 503);
  assert.match((refused.body as { error: string }).error, /host \(hv-health\) cannot be reached right now/);

  await host!.startDaemon();
  const restartedAt = Date.now();
  const back = await waitForValue(health, (h) => h.state === 'connected', 60_000, 'the host to be connected again', 200);
  console.log(`# libvirtd started again: connected by itself after ${Date.now() - restartedAt} ms`);
  assert.equal(back.reachable, true);
  assert.ok(Date.parse(back.since) >= restartedAt - 1000);
  assert.match(await gw!.metrics(), /porthole_hypervisor_state\{hypervisor="hv-health",state="connected"\} 1/);
});
