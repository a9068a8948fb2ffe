// An OpenID Connect user signs in as a person does, in Chromium: "Sign in with School account"
// on Porthole's sign-in page, the provider's own login page (a real oidc-provider on loopback
// HTTPS), and back to the desktop list showing exactly their group's desktops. A deep link
// (a viewer's address, opened before signing in) is kept through the round trip, and the
// desktop's connect answers 200 there. A wrong password stays at the provider.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startOidcProvider, type OidcTestProvider } from '../bed/oidc-provider.js';
import { freePort } from '../bed/ports.js';
import { recordSecret, recordToken } from '../bed/secret-record.js';
import { writeTestDriver } from '../bed/test-driver.js';

const CLASS_DESKTOP = '0c1de2e0-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-oidc-e2e-'));
const OLGA = { username: 'olga', password: 'olga-provider-pw-e2e', groups: ['class-3b'] };
let provider: OidcTestProvider;
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  const port = await freePort();
  provider = await startOidcProvider({ redirectUris: [`https://localhost:${port}/api/login/oidc/callback`], users: [OLGA] });
  // Displays that nobody serves: the list and connect are what this test is about.
  const libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class-3b-desktop', uuid: CLASS_DESKTOP, groups: ['class-3b'], vnc: { port: 5997, password: 'vnc-secret' } },
    { name: 'class-4a-desktop', uuid: '0c1de2e0-0000-4000-8000-000000000002', groups: ['class-4a'], vnc: { port: 5996, password: 'x' } },
    { name: 'teachers-desktop', uuid: '0c1de2e0-0000-4000-8000-000000000003', users: ['nora'], vnc: { port: 5995, password: 'x' } },
  ]);
  gw = await startTestGateway({
    libvirt,
    port,
    users: [],
    config: { directory: { oidc: provider.config() } },
    env: { PORTHOLE_OIDC_CLIENT_SECRET: provider.clientSecret },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** At the provider's own page: types the name and password and submits. */
async function fillProviderPage(page: Page, username: string, password: string): Promise<void> {
  await page.waitForSelector('input[name=login]', { timeout: 30_000 });
  assert.equal(new URL(page.url()).origin, provider.issuer, 'the login page is the provider’s');
  await page.type('input[name=login]', username);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('#provider-submit')]);
}

async function recordCookies(page: Page): Promise<void> {
  for (const c of await page.browserContext().cookies()) recordSecret(`browser cookie ${c.name}`, c.value);
}

test('"Sign in with School account", the provider\'s page, and back to exactly the group\'s desktops', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.goto(gw.origin);
  const button = await page.waitForSelector('#signin-oidc:not([hidden]) #signin-oidc-link');
  assert.equal(await button!.evaluate((e) => e.textContent), 'Sign in with School account');
  await Promise.all([page.waitForNavigation(), button!.click()]);
  // A wrong password stays at the provider, which says so.
  await fillProviderPage(page, OLGA.username, 'not-olgas-password');
  assert.match(await page.$eval('#message', (e) => e.textContent ?? ''), /Wrong user name or password/);
  await page.$eval('input[name=login]', (e) => {
    (e as unknown as { value: string }).value = '';
  });
  await fillProviderPage(page, OLGA.username, OLGA.password);
  await page.waitForSelector('#desktops:not([hidden]) li.desktop', { timeout: 30_000 });
  assert.equal(new URL(page.url()).pathname, '/');
  const names = await page.$$eval('#desktops li.desktop h2', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ['class-3b-desktop']);
  await page.screenshot({ path: join(SCREENSHOTS, 'oidc-desktop-list.png') });
  await recordCookies(page);
  await page.browserContext().close();
});

test('a deep link opened before signing in is where the user lands, and its connect answers 200', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  const deepLink = `/viewer.html?desktop=${CLASS_DESKTOP}`;
  // Not signed in: the viewer sends the user to the sign-in page, keeping where they were going.
  await page.goto(`${gw.origin}${deepLink}`);
  await page.waitForSelector('#signin:not([hidden])', { timeout: 30_000 });
  assert.equal(new URL(page.url()).searchParams.get('return'), deepLink);
  const link = await page.waitForSelector('#signin-oidc:not([hidden]) #signin-oidc-link');
  await Promise.all([page.waitForNavigation(), link!.click()]);
  const connected = page.waitForResponse((r) => r.url().endsWith(`/api/desktops/${CLASS_DESKTOP}/connect`), { timeout: 60_000 });
  await fillProviderPage(page, OLGA.username, OLGA.password);
  const answer = await connected;
  assert.equal(answer.status(), 200);
  for (const a of ((await answer.json()) as { attempts: Array<{ token: string }> }).attempts) recordToken(a.token);
  assert.equal(`${new URL(page.url()).pathname}${new URL(page.url()).search}`, deepLink);
  await recordCookies(page);
  await page.browserContext().close();
});

test('a forged answer brings the user back to the sign-in page, which says why', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.goto(`${gw.origin}/api/login/oidc/callback?code=forged&state=forged`);
  await page.waitForSelector('#signin:not([hidden])');
  await page.waitForFunction("document.getElementById('signin-error').textContent !== ''");
  assert.match(await page.$eval('#signin-error', (e) => e.textContent ?? ''), /could not be finished: it was not started in this browser/);
  await page.screenshot({ path: join(SCREENSHOTS, 'oidc-refused.png') });
  await page.browserContext().close();
});
