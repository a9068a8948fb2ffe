// A desktop moves host while its user works in it: a real `virsh migrate --live` between two
// libvirtd (each in its own namespace, as two hypervisors), with the viewer open in Chromium. The
// desktop keeps its id (its UUID), and the viewer follows it to the new host by itself, saying
// "Moving to another host…" meanwhile; so does a helpdesk watcher's, whose watching goes on.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { waitFor, waitForValue } from '../bed/deadline.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startIsolatedLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { openDesktop, signInPage, typeAndExpect, typeWord, viewerState } from '../bed/person.js';
import { cellsDiffering, screenGrid } from '../bed/screen-pixels.js';

let hostA: Libvirtd | undefined;
let hostB: Libvirtd | undefined;
let desktop: RunningDesktop | undefined;
let gw: RunningGateway | undefined;
let browser: Browser | undefined;

const execFileAsync = promisify(execFile);
const MIGRATION_PORT = 22150; // in hostB's migration range
const MIGRATION_PORT_BACK = 22100; // in hostA's
const MIGRATION_PORT_AGAIN = 22151; // hostB's again

/** What the viewer's notice said while it reconnected (it shows for a moment only): recorded in the page. */
async function recordReconnectNotices(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.reconnectNotices = [];
    const panel = document.getElementById('reconnecting');
    new MutationObserver(() => {
      const title = document.getElementById('reconnecting-title').textContent;
      if (!panel.hidden && window.reconnectNotices.at(-1) !== title) window.reconnectNotices.push(title);
    }).observe(panel, { attributes: true, subtree: true, childList: true, characterData: true });
  })()`);
}

async function reconnectNotices(page: Page): Promise<string[]> {
  return (await page.evaluate('window.reconnectNotices')) as string[];
}

/**
 * `virsh migrate --live` of the desktop from one host to the other; how long it took, ms. Run
 * without blocking: the gateway runs in this process and goes on serving during the move.
 */
async function migrate(from: Libvirtd, to: Libvirtd, port: number): Promise<number> {
  const started = Date.now();
  await virsh(
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

/** virsh without blocking: the gateway runs in this process and goes on serving meanwhile. */
async function virsh(uri: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileAsync('virsh', ['-c', uri, ...args], { encoding: 'utf8', timeout: 120_000 })).stdout;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`virsh not found (apt-get install libvirt-clients): ${e.message}`, { cause: error });
    throw new Error(`virsh ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: error });
  }
}

before(async () => {
  hostA = await startIsolatedLibvirtd({ hostname: 'hv-a', displayPorts: [21900, 21949], migrationPorts: [22100, 22149] });
  hostB = await startIsolatedLibvirtd({ hostname: 'hv-b', displayPorts: [21950, 21999], migrationPorts: [22150, 22199] });
  desktop = await defineDesktop(hostA.uri, { name: 'class-3b-moving', users: ['alice'] });
  gw = await startTestGateway({
    libvirt: `hv-a=${hostA.uri},hv-b=${hostB.uri}`,
    users: [
      { name: 'alice', password: 'alice-password', role: 'user' },
      { name: 'hannah', password: 'hannah-password', role: 'helpdesk' },
    ],
  });
  browser = await launchChromium();
});

// A failed test's viewers close with it: a viewer left open would be another session on the desktop.
afterEach(async () => {
  for (const context of browser?.browserContexts() ?? []) if (context !== browser!.defaultBrowserContext()) await context.close();
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
  await recordReconnectNotices(page);

  const t0 = Date.now();
  const took = await migrate(hostA!, hostB!, MIGRATION_PORT);
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
  // A short notice, not an error: the proxy told the viewer the desktop moved.
  assert.equal((await reconnectNotices(page))[0], 'Moving to another host…');
  assert.match(page.url(), new RegExp(`desktop=${desktop!.uuid}$`), 'the same link');
  console.log(`# from the migration's start to the viewer connected on hv-b: ${Date.now() - t0} ms`);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-after-migration.png') });
  // The keyboard goes to the guest, now on hv-b (its serial log is appended to, not truncated).
  await typeAndExpect(page, desktop!.serial);
  assert.ok(!(await virsh(hostA!.uri, 'list', '--all', '--name')).includes(desktop!.name), 'the source host no longer has it');
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

  const took = await migrate(hostB!, hostA!, MIGRATION_PORT_BACK);
  const ended = Date.now();
  console.log(`# live migration from hv-b back to hv-a: ${took} ms`);
  const framed = await reconnected(page, 1);
  console.log(`# VNC: from the migration's end to the viewer's first frame on hv-a: ${framed - ended} ms`);
  const state = (await page.evaluate('window.portholeViewer')) as { protocol: string };
  assert.equal(state.protocol, 'vnc', 'still VNC on the new host');
  await typeAndExpect(page, desktop!.serial);
  assert.ok(!(await virsh(hostB!.uri, 'list', '--all', '--name')).includes(desktop!.name), 'hv-b no longer has it');
  await page.browserContext().close();
});

test("a helpdesk watching the user's screen goes on across a live migration: the watcher follows by itself, view-only, with no new question to the user", async () => {
  const alice = await signInPage(browser!, gw!.origin, 'alice', 'alice-password');
  assert.equal((await openDesktop(alice, desktop!.uuid)).protocol, 'spice');
  const hannah = await signInPage(browser!, gw!.origin, 'hannah', 'hannah-password');
  await hannah.goto(`${gw!.origin}/helpdesk.html`);
  await hannah.waitForSelector('tr[data-user="alice"] .ask');
  // Found and clicked in one step: the list may be rebuilt between two calls.
  await hannah.$eval('tr[data-user="alice"] .ask', (b) => (b as unknown as { click(): void }).click());
  await alice.waitForSelector('#shadow-prompt:not([hidden])', { timeout: 10_000 });
  await alice.click('#shadow-prompt .allow');
  await hannah.waitForNavigation({ timeout: 10_000 });
  assert.equal((await viewerState(hannah)).protocol, 'vnc');
  const watching = `Watching alice's ${desktop!.name} — view only`;
  assert.equal(await hannah.$eval('#desktop-name', (e) => e.textContent), watching);
  const requestId = new URL(hannah.url()).searchParams.get('shadow')!;
  const hannahCookie = `porthole_session=${(await hannah.cookies()).find((c) => c.name === 'porthole_session')!.value}`;
  await recordReconnectNotices(alice);
  await recordReconnectNotices(hannah);

  const took = await migrate(hostA!, hostB!, MIGRATION_PORT_AGAIN);
  const ended = Date.now();
  console.log(`# live migration from hv-a to hv-b with a helpdesk watching: ${took} ms`);
  const [userFramed, watcherFramed] = await Promise.all([reconnected(alice, 1), reconnected(hannah, 1)]);
  console.log(
    `# from the migration's end to the first frame on hv-b: the user's viewer ${userFramed - ended} ms, the watcher's ${watcherFramed - ended} ms`,
  );
  assert.equal((await reconnectNotices(alice))[0], 'Moving to another host…');
  assert.equal((await reconnectNotices(hannah))[0], 'Moving to another host…');

  // Still watching, still view-only, still saying whose screen it is; the user was not asked again
  // (their yes was for this desktop and viewer, which went on) and still sees who watches.
  const afterMove = (await hannah.evaluate('window.portholeViewer')) as { state: string; protocol: string };
  assert.deepEqual([afterMove.state, afterMove.protocol], ['connected', 'vnc']);
  assert.equal(await hannah.$eval('#desktop-name', (e) => e.textContent), watching);
  assert.match(await hannah.$eval('#status', (e) => e.textContent ?? ''), /view only/);
  assert.equal(await hannah.$eval('#cad', (e) => e.hasAttribute('hidden')), true);
  assert.equal(await alice.$eval('#shadow-prompt', (e) => e.hasAttribute('hidden')), true, 'no new question to the user');
  assert.match(await alice.$eval('#shadow-banner', (e) => e.textContent ?? ''), /hannah from the helpdesk is watching your screen/);
  assert.equal(((await gw!.api('GET', `/api/shadow/${requestId}`, { cookie: hannahCookie })).body as { state: string }).state, 'accepted');
  // The sharing followed the user's new session on hv-b: the helpdesk's list shows it watched.
  const sessions = await waitForValue(
    async () =>
      ((await gw!.api('GET', '/api/sessions', { cookie: hannahCookie })).body as Array<{ user: string; watchers: string[] }>).map((s) => [
        s.user,
        s.watchers,
      ]),
    (rows) => JSON.stringify(rows) === JSON.stringify([['alice', ['hannah']]]),
    10_000,
    "the user's new session to be listed as watched",
  );
  assert.deepEqual(sessions, [['alice', ['hannah']]]);

  // The watcher shows the guest's screen on hv-b: the user's typing appears on it.
  const before = await screenGrid(hannah);
  await typeAndExpect(alice, desktop!.serial);
  let changed = 0;
  let apart = 0;
  await waitFor(
    async () => {
      const [h, a] = [await screenGrid(hannah), await screenGrid(alice)];
      changed = cellsDiffering(before, h);
      apart = cellsDiffering(a, h);
      return changed >= 3 && apart <= 4;
    },
    30_000,
    "the user's typing to show on the watcher's screen",
    200,
  ).catch((e: Error) =>
    assert.fail(
      `${e.message}: ${changed} cells changed on the watcher's screen, ${apart} differ from the user's` +
        (apart === 0 ? " (the user's viewer shows the same: the guest's display itself did not update after the move)" : ''),
    ),
  );
  await hannah.screenshot({ path: join(SCREENSHOTS, 'watcher-after-migration.png') });
  // And the watcher's keys still go nowhere.
  const hidden = await typeWord(hannah, 'helpdesk');
  await typeAndExpect(alice, desktop!.serial);
  assert.ok(!desktop!.serial.contents().includes(hidden), "the helpdesk's keystrokes reached the guest");

  const audit = readFileSync(join(gw!.dataDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; request?: string })
    .filter((e) => e.request === requestId);
  assert.deepEqual(
    audit.map((e) => e.event),
    ['shadow.requested', 'shadow.accepted', 'shadow.followed'],
  );
  await alice.browserContext().close();
  await hannah.browserContext().close();
});
