// A desktop moves host while its user works in it: a real `virsh migrate --live` between two
// libvirtd (each in its own namespace, as two hypervisors), with the viewer open in Chromium. The
// desktop keeps its id (its UUID), and the viewer follows it to the new host by itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { waitForValue } from '../bed/deadline.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startIsolatedLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { openDesktop, signInPage, typeAndExpect } from '../bed/person.js';

let hostA: Libvirtd | undefined;
let hostB: Libvirtd | undefined;
let desktop: RunningDesktop | undefined;
let gw: RunningGateway | undefined;
let browser: Browser | undefined;

const MIGRATION_PORT = 22150; // in hostB's migration range
const MIGRATION_PORT_BACK = 22100; // in hostA's

/** `virsh migrate --live` of the desktop from one host to the other; how long it took, ms. */
function migrate(from: Libvirtd, to: Libvirtd, port: number): number {
  const started = Date.now();
  virsh(
    from.uri,
    'migrate',
    '--live',
    '--persistent',
    '--undefinesource',
    '--listen-address',
    '127.0.0.1',
    desktop!.name,
    to.uri,
    `tcp://127.0.0.1:${port}`,
  );
  return Date.now() - started;
}

/**
 * Waits until the viewer has reconnected `times` times and shows the desktop again: its first
 * frame on the new host (a connector resolves at its first frame); returns when, Date.now().
 */
async function reconnected(page: Page, times: number): Promise<number> {
  await page.waitForFunction(`window.portholeViewer.reconnects >= ${times} && window.portholeViewer.state === "connected"`, {
    timeout: 90_000,
    polling: 20,
  });
  return Date.now();
}

function virsh(uri: string, ...args: string[]): string {
  const result = spawnSync('virsh', ['-c', uri, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw new Error(`virsh not found (apt-get install libvirt-clients): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`virsh ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

before(async () => {
  hostA = await startIsolatedLibvirtd({ hostname: 'hv-a', displayPorts: [21900, 21949], migrationPorts: [22100, 22149] });
  hostB = await startIsolatedLibvirtd({ hostname: 'hv-b', displayPorts: [21950, 21999], migrationPorts: [22150, 22199] });
  desktop = await defineDesktop(hostA.uri, { name: 'class-3b-moving', users: ['alice'] });
  gw = await startTestGateway({
    libvirt: `hv-a=${hostA.uri},hv-b=${hostB.uri}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  // After the move the domain lives on B; destroy() cleans up on A (where it was defined).
  if (desktop && hostB) {
    spawnSync('virsh', ['-c', hostB.uri, 'destroy', desktop.name]);
    spawnSync('virsh', ['-c', hostB.uri, 'undefine', desktop.name]);
  }
  await desktop?.destroy();
  await hostB?.stop();
  await hostA?.stop();
});

test('a live migration moves the desktop while its viewer is open: the same id, the viewer reconnects to the new host by itself, typing goes on', async () => {
  const page = await signInPage(browser!, gw!.origin, 'alice', 'alice-password');
  const listed = async () =>
    (await gw!.api('GET', '/api/desktops', { cookie: await gw!.signIn('alice', 'alice-password') })).body as Array<{
      id: string;
      hypervisor: string;
      state: string;
    }>;
  assert.deepEqual(
    (await listed()).map((d) => [d.id, d.hypervisor, d.state]),
    [[desktop!.uuid, 'hv-a', 'running']],
  );
  const opened = await openDesktop(page, desktop!.uuid);
  assert.equal(opened.protocol, 'spice');
  await typeAndExpect(page, desktop!.serial);

  const t0 = Date.now();
  const took = migrate(hostA!, hostB!, MIGRATION_PORT);
  const ended = Date.now();
  console.log(`# live migration of the running guest from hv-a to hv-b: ${took} ms`);

  // The desktop is listed once, with the same id, on its new host (lists may answer from the
  // inventory's last reading while a new one is taken: within a few seconds).
  const moved = await waitForValue(
    async () => (await listed()).map((d) => [d.id, d.hypervisor, d.state]),
    (rows) => rows.length === 1 && rows[0]![1] === 'hv-b',
    30_000,
    'the list to show the desktop on hv-b',
  );
  assert.deepEqual(moved, [[desktop!.uuid, 'hv-b', 'running']]);
  // The open viewer lost its display when the source QEMU ended, and found it on hv-b.
  const framed = await reconnected(page, 1);
  console.log(`# SPICE: from the migration's end to the viewer's first frame on hv-b: ${framed - ended} ms`);
  const state = (await page.evaluate('window.portholeViewer')) as { protocol: string; reconnects: number };
  assert.equal(state.protocol, 'spice');
  assert.match(page.url(), new RegExp(`desktop=${desktop!.uuid}$`), 'the same link');
  console.log(`# from the migration's start to the viewer connected on hv-b: ${Date.now() - t0} ms`);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-after-migration.png') });
  // The keyboard goes to the guest, now on hv-b (its serial log is appended to, not truncated).
  await typeAndExpect(page, desktop!.serial);
  assert.ok(!virsh(hostA!.uri, 'list', '--all', '--name').includes(desktop!.name), 'the source host no longer has it');
  await page.browserContext().close();
});

test('the desktop moves back while a VNC viewer is open: the viewer follows it over VNC, typing goes on before and after', async () => {
  const page = await signInPage(browser!, gw!.origin, 'alice', 'alice-password');
  // This viewer asks for VNC only, as a browser whose SPICE was refused would.
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/connect') && !request.postData()?.includes('protocols')) {
      void request.continue({ postData: JSON.stringify({ protocols: ['vnc'] }) });
    } else void request.continue();
  });
  const opened = await openDesktop(page, desktop!.uuid);
  assert.equal(opened.protocol, 'vnc');
  await typeAndExpect(page, desktop!.serial);

  const took = migrate(hostB!, hostA!, MIGRATION_PORT_BACK);
  const ended = Date.now();
  console.log(`# live migration from hv-b back to hv-a: ${took} ms`);
  const framed = await reconnected(page, 1);
  console.log(`# VNC: from the migration's end to the viewer's first frame on hv-a: ${framed - ended} ms`);
  const state = (await page.evaluate('window.portholeViewer')) as { protocol: string };
  assert.equal(state.protocol, 'vnc', 'still VNC on the new host');
  await typeAndExpect(page, desktop!.serial);
  assert.ok(!virsh(hostB!.uri, 'list', '--all', '--name').includes(desktop!.name), 'hv-b no longer has it');
  await page.browserContext().close();
});
