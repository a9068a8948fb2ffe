// A desktop whose displays accept TLS only (SPICE on its TLS port, VNC with VeNCrypt X.509), as a
// person opens it in Chromium: with the hypervisors' CA configured the viewer connects over SPICE
// and typing reaches the guest; a gateway that trusts another CA tells the user why it did not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { createAuthority, issueHostCertificate, writeDisplayCredentials } from '../../certs/authority.js';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { openDesktop, signInPage, typeAndExpect } from '../bed/person.js';
import { startQemuGuest, type QemuGuest } from '../bed/qemu-guest.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESK = '55555555-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-e2e-tls-'));
let guest: QemuGuest;
let trusting: RunningGateway;
let foreign: RunningGateway;
let browser: Browser;

before(async () => {
  const authority = await createAuthority('Porthole e2e hypervisor CA');
  writeDisplayCredentials(join(dir, 'x509'), authority, await issueHostCertificate(authority, ['127.0.0.1']));
  writeFileSync(join(dir, 'ca.pem'), authority.cert);
  writeFileSync(join(dir, 'other-ca.pem'), (await createAuthority('Someone else')).cert);
  guest = await startQemuGuest({ tls: { dir: join(dir, 'x509') } });
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    {
      name: 'secure-desk',
      uuid: DESK,
      users: ['alice'],
      spice: { tlsPort: guest.spiceTlsPort, password: guest.spicePassword },
      vnc: { port: guest.vncPort, password: guest.vncPassword },
    },
  ]);
  const users = [{ name: 'alice', password: 'alice-password', role: 'user' as const }];
  trusting = await startTestGateway({ libvirt: `lab=${uri}`, users, env: { PORTHOLE_DISPLAY_CA: join(dir, 'ca.pem') } });
  foreign = await startTestGateway({ libvirt: `lab=${uri}`, users, env: { PORTHOLE_DISPLAY_CA: join(dir, 'other-ca.pem') } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await trusting?.close();
  await foreign?.close();
  await guest?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('TLS-only displays: the viewer opens SPICE over TLS and typing reaches the guest', async () => {
  const page = await signInPage(browser, trusting.origin, 'alice', 'alice-password');
  const opened = await openDesktop(page, `${DESK}`);
  assert.equal(opened.protocol, 'spice', JSON.stringify(opened.fallbacks));
  assert.deepEqual(opened.fallbacks, []);
  console.log(`# SPICE over TLS: opening the desktop to its first frame took ${(opened.firstFrameAt - opened.openedAt).toFixed(0)} ms`);
  await typeAndExpect(page, guest.serial);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-spice-tls.png') });
  await page.browserContext().close();
});

test('display certificates from a CA Porthole does not trust: the viewer says so for SPICE and VNC', async () => {
  const page = await signInPage(browser, foreign.origin, 'alice', 'alice-password');
  await page.click(`.desktop[data-desktop-id="${DESK}"] .open`);
  await page.waitForSelector('#viewer[data-state="failed"]', { timeout: 30_000 });
  const text = await page.$eval('#failed-text', (e) => e.textContent ?? '');
  assert.match(
    text,
    /SPICE did not work: Porthole does not trust the desktop's SPICE certificate \(unknown authority\) and did not connect\. Ask your administrator\./,
  );
  assert.match(text, /VNC did not work: Porthole does not trust the desktop's VNC certificate \(unknown authority\)/);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-tls-untrusted.png') });
  await page.browserContext().close();
});
