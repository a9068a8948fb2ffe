// The admin console (/admin) in Chromium, under the site's CSP: who may see it (an administrator;
// anyone else reads a refusal; nobody signed in gets the sign-in), every section filled from a
// running gateway (a live VNC session on a synthetic display, local users, a reachable and an
// unreachable hypervisor, desktops, the audit trail, RDP pins), and "End" with its confirmation
// closing a user's live session, which their viewer says. Screenshots at a laptop's and a
// phone's size go to the screenshots folder. The libvirt test driver and a synthetic display:
// no libvirtd, no QEMU.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { waitFor } from '../bed/deadline.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { watchPageErrors, type PageErrors } from '../bed/page-errors.js';
import { openDesktop, signInPage } from '../bed/person.js';
import { recordSecret } from '../bed/secret-record.js';
import { startSyntheticVnc, type SyntheticVnc } from '../bed/synthetic-vnc.js';
import { writeTestDriver } from '../bed/test-driver.js';

const CLASS_DESKTOP = 'ad000000-0000-4000-8000-000000000001';
const SPARE_DESKTOP = 'ad000000-0000-4000-8000-000000000002';
const dir = mkdtempSync(join(tmpdir(), 'porthole-admin-console-'));
let display: SyntheticVnc;
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  display = await startSyntheticVnc('class-3b-07');
  const lab = writeTestDriver(join(dir, 'lab.xml'), [
    { name: 'class-3b-07', uuid: CLASS_DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } },
    { name: 'spare-12', uuid: SPARE_DESKTOP, users: ['alice'], running: false },
  ]);
  gw = await startTestGateway({
    // A second host whose node file does not exist: libvirt cannot open it.
    libvirt: `lab=${lab},annex=test://${join(dir, 'annex-is-gone.xml')}`,
    users: [
      { name: 'ada', password: 'ada-password', role: 'admin' },
      { name: 'alice', password: 'alice-password', role: 'user', groups: ['class-3b'] },
      { name: 'hal', password: 'hal-password', role: 'helpdesk' },
    ],
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await display?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function newPage(width = 1366, height = 768): Promise<{ page: Page; errors: PageErrors }> {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width, height });
  return { page, errors: watchPageErrors(page) };
}

async function signInAtAdmin(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`${gw.origin}/admin`);
  await page.waitForSelector('#signin:not([hidden])');
  await page.type('#username', user);
  await page.type('#password', password);
  await page.click('#signin-submit');
  recordSecret('user password', password);
  for (const c of await page.browserContext().cookies()) recordSecret(`browser cookie ${c.name}`, c.value);
}

/** Each matching element's text as a person reads it (cells joined by spaces). */
const texts = (page: Page, selector: string) =>
  page.evaluate(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((n) => n.innerText.replace(/\\s+/g, ' ').trim())`,
  ) as Promise<string[]>;
const text = async (page: Page, selector: string) => (await page.$eval(selector, (n) => n.textContent)) ?? '';
const hidden = (page: Page, selector: string) =>
  page.evaluate(`document.querySelector(${JSON.stringify(selector)}).hidden`) as Promise<boolean>;

/** Whether the page is wider than its viewport (the whole page would scroll sideways). */
const overflowsSideways = (page: Page) => page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 1') as Promise<boolean>;

test('nobody signed in gets the sign-in; a non-admin reads a refusal and no data', async () => {
  const { page, errors } = await newPage();
  await page.goto(`${gw.origin}/admin`);
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await hidden(page, '#console'), true);
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-console-signin-1366x768.png') });

  await signInAtAdmin(page, 'hal', 'hal-password');
  await page.waitForSelector('#refusal:not([hidden])');
  const refusal = await text(page, '#refusal-text');
  assert.match(refusal, /This page is for administrators\. You are signed in as hal, who is helpdesk staff/);
  assert.equal(await hidden(page, '#console'), true);
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-console-refusal-1366x768.png') });
  // The API refuses them too, with a sentence.
  const users = await page.evaluate(`fetch('/api/users').then(async (r) => ({ status: r.status, body: await r.json() }))`);
  assert.deepEqual(users, { status: 403, body: { error: 'This needs the admin role.' } });
  assert.deepEqual(errors.list(), []);
  await page.browserContext().close();
});

test('an admin sees every section, and ends a live session after confirming; the viewer says so', async () => {
  // Alice at her desktop, on the synthetic display.
  const alicePage = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  const viewer = await openDesktop(alicePage, CLASS_DESKTOP);
  assert.equal(viewer.state, 'connected', JSON.stringify(viewer));

  const { page, errors } = await newPage();
  await signInAtAdmin(page, 'ada', 'ada-password');
  await page.waitForSelector('#console:not([hidden])');
  await page.waitForSelector(`#session-rows tr[data-user="alice"]`);
  await page.waitForSelector('#audit-rows tr');

  // Sessions: who, which desktop (by name), protocol, bytes; a Watch link for the helpdesk page.
  const [session] = await texts(page, '#session-rows tr');
  assert.match(session!, /^alice class-3b-07 VNC \d+ s [\d.]+ (KB|MB) \/ [\d.]+ (B|KB) — Watch… End$/);
  const watch = await page.$eval('#session-rows a.watch', (a) => a.getAttribute('href'));
  assert.match(watch!, /^\/helpdesk\.html#session=[0-9a-f-]{36}$/);

  // Users: the three local users, Alice with her sign-in and her open session.
  const users = await texts(page, '#user-rows tr');
  assert.equal(users.length, 3, users.join('\n'));
  assert.match(
    users.find((u) => u.startsWith('alice'))!,
    /^alice local user, group class-3b 1 .+ from 127\.0\.0\.1 1 End all$/,
  );
  assert.match(
    users.find((u) => u.startsWith('ada'))!,
    /^ada local admin 1 /,
  );

  // Hypervisors: the lab connected with its two desktops, the annex down since its first
  // attempt, with libvirt's reason.
  const hosts = await texts(page, '#hypervisor-rows tr');
  assert.match(hosts[0]!, /^lab 127\.0\.0\.1 connected \S.* 2 \(1\) —$/);
  assert.match(hosts[1]!, /^annex 127\.0\.0\.1 down \S.*: .*annex-is-gone\.xml.* — .+annex-is-gone\.xml/);

  // Desktops with their state.
  const desktops = await texts(page, '#desktop-rows tr');
  assert.match(
    desktops.find((d) => d.startsWith('class-3b-07'))!,
    /running lab VNC 1/,
  );
  assert.match(
    desktops.find((d) => d.startsWith('spare-12'))!,
    /shut off lab/,
  );

  // The audit trail, newest first: Ada's sign-in on top, Alice's connection below.
  const audit = await texts(page, '#audit-rows tr');
  assert.ok(audit.some((a) => /sign-in ada/.test(a)));
  assert.ok(
    audit.some((a) => /connection\.opened alice class-3b-07 127\.0\.0\.1 .*protocol: vnc/.test(a)),
    audit.join('\n'),
  );
  assert.equal(await hidden(page, '#pins-empty'), false);

  await page.screenshot({ path: join(SCREENSHOTS, 'admin-console-1366x768.png'), fullPage: true });
  assert.equal(await overflowsSideways(page), false, 'the page scrolls sideways at 1366x768');

  // "End": a confirmation first; Cancel leaves the session alone.
  await page.click('#session-rows tr[data-user="alice"] button.end-session');
  await page.waitForSelector('#confirm[open]');
  assert.match(await text(page, '#confirm-title'), /End alice's session\?/);
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-console-confirm-1366x768.png') });
  await page.click('#confirm button[value="cancel"]');
  await waitFor(async () => !(await page.$('#confirm[open]')), 5000, 'the dialog to close');
  const still = await gw.api('GET', '/api/sessions', { cookie: await gw.signIn('ada', 'ada-password') });
  assert.deepEqual(
    (still.body as Array<{ user: string }>).map((s) => s.user),
    ['alice'],
    'Cancel ended nothing',
  );
  assert.equal(await alicePage.$eval('#viewer', (n) => n.getAttribute('data-state')), 'connected');

  await page.click('#session-rows tr[data-user="alice"] button.end-session');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-yes');
  await page.waitForSelector('#sessions-empty:not([hidden])');
  assert.match(await text(page, '#admin-status'), /Ended alice's session on class-3b-07\./);

  // Alice's viewer says why, and does not reconnect by itself.
  await alicePage.waitForSelector('#failed:not([hidden])');
  assert.match(await text(alicePage, '#failed-text'), /An administrator ended this session\./);
  await alicePage.screenshot({ path: join(SCREENSHOTS, 'admin-console-ended-viewer-1366x768.png') });

  // The trail has it, and its filters narrow it.
  await page.type('#audit-user', 'alice');
  await page.click('#audit-filter button[type="submit"]');
  await waitFor(
    async () => (await texts(page, '#audit-rows tr')).every((r) => / alice /.test(` ${r} `)),
    10_000,
    'the trail filtered to alice',
  );
  const alices = await texts(page, '#audit-rows tr');
  assert.match(alices[0]!, /connection\.closed alice|session\.ended alice/);
  assert.ok(
    alices.some((a) => /session\.ended alice .*admin: ada/.test(a)),
    alices.join('\n'),
  );
  await page.evaluate(`document.getElementById('audit-user').value = ''`);
  await page.select('#audit-desktop', SPARE_DESKTOP);
  await page.click('#audit-filter button[type="submit"]');
  await page.waitForFunction(`document.getElementById('audit-status').textContent === 'No event matches.'`);

  // "End all" signs Alice out everywhere.
  await page.click('#user-rows tr[data-user="alice"] button.end-user');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-yes');
  await page.waitForFunction(`document.getElementById('admin-status').textContent === 'alice: 1 sign-in(s) and 0 session(s) ended.'`);
  const aliceNow = await alicePage.evaluate(`fetch('/api/me').then((r) => r.status)`);
  assert.equal(aliceNow, 401);

  // A phone's width: the page itself does not scroll sideways (wide tables scroll inside their box).
  await page.setViewport({ width: 390, height: 844 });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-console-390x844.png'), fullPage: true });
  assert.equal(await overflowsSideways(page), false, 'the page scrolls sideways at 390x844');
  assert.deepEqual(errors.list(), []);
  await page.browserContext().close();
  await alicePage.browserContext().close();
});
