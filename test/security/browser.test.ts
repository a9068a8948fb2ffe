// What a browser does with hostile names: a desktop name from libvirt that is HTML is shown as
// text, never run (compare noVNC CVE-2017-18635, a server-supplied desktop name inserted as HTML).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { signInPage } from '../bed/person.js';
import { writeTestDriver } from '../bed/test-driver.js';

const HOSTILE = '<img src=x onerror="window.pwned=1">';
let gw: RunningGateway;
let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'porthole-xss-'));

before(async () => {
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: HOSTILE, uuid: '7e570000-0000-4000-8000-000000000001', users: ['alice'], running: false },
  ]);
  gw = await startTestGateway({ libvirt: `lab=${uri}`, users: [{ name: 'alice', password: 'alice-password', role: 'user' }] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a desktop named with HTML is listed as text and nothing in it runs', async () => {
  const page = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  await page.waitForSelector('.desktop h2');
  assert.equal(await page.$eval('.desktop h2', (e) => e.textContent), HOSTILE);
  assert.equal(await page.$$eval('#desktop-list img', (els) => els.length), 0);
  // The image's request has failed and nothing is loading any more: an onerror would have run.
  await page.waitForNetworkIdle({ idleTime: 200, timeout: 30_000 });
  assert.equal(await page.evaluate('window.pwned'), undefined);
  // The strict CSP is in force on the page (no inline script could run even if one slipped in).
  const response = await page.goto(gw.origin);
  assert.match(response!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.browserContext().close();
});
