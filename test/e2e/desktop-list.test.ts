// The start page when one of the hypervisors cannot be reached: the desktops of the others are
// listed, and the page says that some may be missing, which host, and what to do.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { signInPage } from '../bed/person.js';
import { writeTestDriver } from '../bed/test-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-list-'));
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  const lab = writeTestDriver(join(dir, 'lab.xml'), [
    { name: 'alice-desk', uuid: 'c0000000-0000-4000-8000-0000000000c1', users: ['alice'], vnc: { port: 5999, password: 'x' } },
  ]);
  // A real libvirt client towards a port where no libvirtd listens: a host that is down.
  gw = await startTestGateway({
    libvirt: `lab=${lab},annex=qemu+tcp://127.0.0.1:1/system`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('with a host down, the list shows the other desktops and says which host is missing and what to do', async () => {
  const page = await signInPage(browser, gw.origin, 'alice', 'alice-password');
  await page.waitForSelector('#desktops li.desktop');
  const names = await page.$$eval('#desktops li.desktop h2', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ['alice-desk']);
  const status = await page.$eval('#desktops-status', (e) => e.textContent ?? '');
  assert.match(status, /Some desktops may be missing: Porthole cannot reach the host annex right now. Reload in a minute/);
  await page.screenshot({ path: join(SCREENSHOTS, 'desktop-list-host-down.png') });
  await page.browserContext().close();
});
