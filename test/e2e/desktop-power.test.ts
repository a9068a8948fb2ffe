// A student's desktop that is off, on a real libvirtd and QEMU: she starts it from her list,
// opens it once it runs and types into it, then restarts it and shuts it down from the viewer. The refusals say why in the list and in the API:
// a desktop her administrator starts (403), one already running (409), and one whose host
// cannot start it (libvirt's reason, in a sentence that says what to do).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Hypervisor } from '@unraid/libvirt';
import { SCREENSHOTS, startDesktopBed, type DesktopBed } from '../bed/desktop-bed.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { metadataXml } from '../bed/domain-xml.js';
import { openDesktop, signInPage, typeAndExpect, viewerState } from '../bed/person.js';
import { waitFor } from '../bed/deadline.js';

/** Defined, never started: its kernel is not where the definition says. */
const BROKEN = 'bb000000-0000-4000-8000-0000000000b1';
let bed: DesktopBed;
let locked: RunningDesktop | undefined;

before(async () => {
  bed = await startDesktopBed({
    // Its guest answers the ACPI power button, as a desktop's OS does: shutdown and reboot work.
    desktop: { name: 'class-3b-power', users: ['alice'], power: true, running: false, powerButton: true },
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
  // Beside it: one only an administrator may start, and one that cannot start.
  locked = await defineDesktop(bed.libvirtd.uri, { name: 'class-3b-locked', users: ['alice'], running: false });
  const h = new Hypervisor({ uri: bed.libvirtd.uri });
  await h.connectOpen();
  try {
    await h.domainDefineXML(`<domain type='qemu'><name>class-3b-broken</name><uuid>${BROKEN}</uuid><memory unit='MiB'>64</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/nonexistent/porthole/vmlinux</kernel></os>
      <devices><graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics></devices>
      ${metadataXml({ users: ['alice'], power: true })}</domain>`);
  } finally {
    await h.connectClose();
  }
});

after(async () => {
  if (!bed) return; // the bed cleaned up after itself when it failed to start
  const h = new Hypervisor({ uri: bed.libvirtd.uri });
  await h
    .connectOpen()
    .then(async () => h.domainUndefine(await h.domainLookupByUUIDString(BROKEN)))
    .catch(() => {})
    .finally(() => h.connectClose().catch(() => {}));
  await locked?.destroy();
  await bed?.close();
});

const card = (id: string) => `.desktop[data-desktop-id="${id}"]`;

test('a student starts her stopped desktop from the list, opens it once it runs, and types into it', async () => {
  const { desktop, gw, browser } = bed;
  const page = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  await page.waitForSelector(`${card(desktop.uuid)} .open.start`);
  assert.match(await page.$eval(`${card(desktop.uuid)} .why`, (e) => e.textContent ?? ''), /This desktop is shut off\. Start it/);
  await page.click(`${card(desktop.uuid)} .open.start`);
  // The list follows the state by itself until the desktop runs; then Open opens it.
  await page.waitForSelector(`${card(desktop.uuid)} .open:not(.start):not([disabled])`, { timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'desktop-list-started.png') });
  await desktop.serial.waitFor('PORTHOLE-GUEST-READY', 60_000);
  await page.click(`${card(desktop.uuid)} .open`);
  const state = await viewerState(page);
  assert.equal(state.state, 'connected');
  await typeAndExpect(page, desktop.serial);
  await page.browserContext().close();
});

test('refusals with their sentence: not hers to start (403), already running (409), and a desktop its host cannot start', async () => {
  const { desktop, gw, browser } = bed;
  const alice = await gw.signIn('alice', 'alice-password');
  const refused = async (id: string, status: number, sentence: RegExp) => {
    const res = await gw.api('POST', `/api/desktops/${id}/start`, { cookie: alice, body: {} });
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.match((res.body as { error: string }).error, sentence);
  };
  await refused(locked!.uuid, 403, /^You may not start this desktop yourself\. Ask your administrator to\.$/);
  await refused(desktop.uuid, 409, /^The desktop is running: it cannot start now\.$/);

  // In the list: Start on the broken one says what libvirt said, and what to do.
  const page = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  await page.waitForSelector(`${card(BROKEN)} .open.start`);
  await page.click(`${card(BROKEN)} .open.start`);
  const selector = JSON.stringify(`${card(BROKEN)} .why`);
  await page.waitForFunction(`/did not start it/.test(document.querySelector(${selector})?.textContent ?? '')`, { timeout: 30_000 });
  const why = await page.$eval(`${card(BROKEN)} .why`, (e) => e.textContent ?? '');
  console.log(`# a desktop that cannot start, as the list says it: ${why}`);
  assert.match(
    why,
    /^The desktop's host did not start it \(.*\/nonexistent\/porthole\/vmlinux.*\)\. Try again in a minute; if it goes on, tell your administrator\.$/,
  );
  await page.screenshot({ path: join(SCREENSHOTS, 'desktop-list-start-failed.png') });
  await page.browserContext().close();
});

test('from the viewer, after a confirmation: Restart restarts the guest and the viewer stays with it; Shut down turns it off and the viewer says so', async () => {
  const { desktop, gw, browser } = bed;
  const page = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  assert.equal((await openDesktop(page, desktop.uuid)).state, 'connected');
  await typeAndExpect(page, desktop.serial);
  const boots = () => desktop.serial.contents().split('PORTHOLE-GUEST-READY').length - 1;
  const before = boots();

  await page.waitForSelector('#reboot:not([hidden])');
  await page.click('#reboot');
  await page.waitForSelector('#confirm[open]');
  assert.match(await page.$eval('#confirm .question', (e) => e.textContent ?? ''), /^Restart this desktop\?/);
  await page.click('#confirm .yes');
  await page.waitForFunction("/restarting/.test(document.getElementById('notice')?.textContent ?? '')", { timeout: 10_000 });
  // The guest saw the power button, powered off, and libvirt started it again (a reset).
  await desktop.serial.waitFor('PORTHOLE-POWER-BUTTON', 30_000);
  await waitFor(() => boots() > before, 60_000, 'the guest to boot again');
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 60_000 });
  await typeAndExpect(page, desktop.serial);

  await page.waitForSelector('#shutdown:not([hidden])');
  await page.click('#shutdown');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm .yes');
  const alice = await gw.signIn('alice', 'alice-password');
  await waitFor(
    async () =>
      ((await gw.api('GET', '/api/desktops', { cookie: alice })).body as Array<{ id: string; state: string }>).find(
        (d) => d.id === desktop.uuid,
      )?.state === 'shut off',
    60_000,
    'the desktop to be shut off',
    500,
  );
  await page.waitForSelector('#viewer[data-state="stopped"]', { timeout: 60_000 });
  await page.waitForSelector('#start:not([hidden])');
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-after-shutdown.png') });
  await page.browserContext().close();
});
