// A school directory user signs in as a person does, in Chromium: the name and password typed on
// Porthole's sign-in page, checked against a real OpenLDAP (StartTLS, a CA made at test time),
// and the desktop list shows exactly the desktops of their group, one of which they open. Roles
// come from groups: a member of the directory's helpdesk group gets the helpdesk page, a pupil
// does not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { signInPage } from '../bed/person.js';
import { recordToken } from '../bed/secret-record.js';
import { SCHOOL, SERVICE_PASSWORD, startSlapd, type Slapd } from '../bed/slapd.js';
import { writeTestDriver } from '../bed/test-driver.js';

const CLASS_DESKTOP = '0d1ec70b-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-ldap-e2e-'));
const password = (uid: string) => SCHOOL.people.find((p) => p.uid === uid)!.password;
let slapd: Slapd;
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  slapd = await startSlapd();
  // Displays that nobody serves: the sign-in, the list and connect are what this test is about.
  const libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class-3b-desktop', uuid: CLASS_DESKTOP, groups: ['class-3b'], vnc: { port: 5994, password: 'vnc-secret-3b' } },
    { name: 'class-4a-desktop', uuid: '0d1ec70b-0000-4000-8000-000000000002', groups: ['class-4a'], vnc: { port: 5993, password: 'x' } },
    { name: 'lab-desktop', uuid: '0d1ec70b-0000-4000-8000-000000000003', groups: ['lab'], vnc: { port: 5992, password: 'x' } },
  ]);
  gw = await startTestGateway({
    libvirt,
    users: [],
    config: { directory: { ldap: slapd.config({ nestedGroups: true }) } },
    env: { PORTHOLE_LDAP_BIND_PASSWORD: SERVICE_PASSWORD },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await slapd?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Signs in on Porthole's own page, as a person types it, at a laptop's size. */
async function signIn(uid: string): Promise<Page> {
  const page = await signInPage(browser, gw.origin, uid, password(uid), join(SCREENSHOTS, `ldap-sign-in-${uid}.png`));
  await page.setViewport({ width: 1366, height: 768 });
  return page;
}

test("a pupil signs in with the directory's name and password, sees exactly their class's desktop, and opens it", async () => {
  const page = await signIn('dana');
  await page.waitForSelector('#desktops li.desktop');
  const names = await page.$$eval('#desktops li.desktop h2', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ['class-3b-desktop']);
  assert.equal(await page.$eval('#helpdesk-link', (e) => e.hasAttribute('hidden')), true, 'a pupil is offered no helpdesk page');
  await page.screenshot({ path: join(SCREENSHOTS, 'ldap-desktop-list.png') });
  const connected = page.waitForResponse((r) => r.url().endsWith(`/api/desktops/${CLASS_DESKTOP}/connect`), { timeout: 30_000 });
  await page.click('#desktops li.desktop button.open');
  const answer = await connected;
  assert.equal(answer.status(), 200);
  for (const a of ((await answer.json()) as { attempts: Array<{ token: string }> }).attempts) recordToken(a.token);
  assert.equal(new URL(page.url()).searchParams.get('desktop'), CLASS_DESKTOP);
  await page.browserContext().close();
});

test("a member of the directory's helpdesk group gets the helpdesk page; a pupil going there is refused", async () => {
  const hugo = await signIn('hugo');
  const link = await hugo.waitForSelector('#helpdesk-link:not([hidden])');
  const sessions = hugo.waitForResponse((r) => r.url().endsWith('/api/sessions'), { timeout: 30_000 });
  await Promise.all([hugo.waitForNavigation(), link!.click()]);
  assert.equal(new URL(hugo.url()).pathname, '/helpdesk.html');
  assert.equal((await sessions).status(), 200);
  await hugo.screenshot({ path: join(SCREENSHOTS, 'ldap-helpdesk.png') });
  await hugo.browserContext().close();

  const dana = await signIn('dana');
  const refused = dana.waitForResponse((r) => r.url().endsWith('/api/sessions'), { timeout: 30_000 });
  await dana.goto(`${gw.origin}/helpdesk.html`);
  assert.equal((await refused).status(), 403);
  await dana.waitForSelector('#helpdesk-status:not(:empty)');
  const said = await dana.$eval('#helpdesk-status', (e) => e.textContent ?? '');
  assert.match(said, /helpdesk|not allowed|permission/i, `the page says why: ${said}`);
  assert.equal(await dana.$$eval('#session-rows tr', (rows) => rows.length), 0);
  await dana.browserContext().close();
});
