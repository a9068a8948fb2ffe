// A person opens a Windows-style desktop over RDP in Chromium: IronRDP's web client in the
// viewer, Porthole's RDCleanPath proxy, FreeRDP's shadow server (TLS-only and NLA) on Xvfb,
// where a window records every key it receives. Desktops come from libvirt's test driver; their
// SPICE and VNC displays are unreachable where the test needs the whole fallback chain.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { createAuthority, issueHostCertificate } from '../../certs/authority.js';
import { CertificatePins } from '../../proxy/tls/certificate-pins.js';
import { encodePdu } from '../../proxy/rdp/rdcleanpath.js';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type Attempt, type RunningGateway } from '../bed/gateway.js';
import { signInPage, signInToDesktop, typeWordOverRdp, viewerState } from '../bed/person.js';
import { freePort } from '../bed/ports.js';
import { readDerPdu, WireReader, x224ConnectionRequest } from '../bed/protocol-clients.js';
import { startRdpServer, type RdpServer } from '../bed/rdp-server.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { startTogether } from '../bed/start-together.js';

const CHAIN = 'c0000000-0000-4000-8000-00000000000c'; // SPICE and VNC unreachable, RDP with NLA
const TLS_ONLY = 'd0000000-0000-4000-8000-00000000000d'; // RDP only, TLS without NLA
const ROGUE = 'e0000000-0000-4000-8000-00000000000e'; // RDP whose certificate changed since pinned
const ACCOUNT = { username: 'student', password: 'Classroom-42' };

const dir = mkdtempSync(join(tmpdir(), 'porthole-rdp-e2e-'));
let nla: RdpServer;
let tls: RdpServer;
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  const authority = await createAuthority('Porthole e2e display CA');
  const certificate = await issueHostCertificate(authority, ['127.0.0.1']);
  [nla, tls] = await startTogether([
    startRdpServer({ security: 'nla', certificate, account: ACCOUNT }),
    startRdpServer({ security: 'tls', certificate }),
  ]);
  const closed = await freePort();
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    {
      name: 'win-lab-1',
      uuid: CHAIN,
      users: ['alice'],
      spice: { port: closed, password: 'x' },
      vnc: { port: closed, password: 'x' },
      rdp: { port: nla.port, address: '127.0.0.1' },
    },
    { name: 'win-lab-2', uuid: TLS_ONLY, users: ['alice'], rdp: { port: tls.port, address: '127.0.0.1' } },
    { name: 'win-lab-3', uuid: ROGUE, users: ['alice'], rdp: { port: tls.port, address: '127.0.0.1' } },
  ]);
  gw = await startTestGateway({ libvirt: `lab=${uri}`, users: [{ name: 'alice', password: 'alice-password', role: 'user' }] });
  // Porthole saw win-lab-3 before with another certificate (as if someone now sits in between).
  const other = await issueHostCertificate(authority, ['127.0.0.1']);
  new CertificatePins(gw.dataDir).record({
    desktop: `${ROGUE}`,
    fingerprint: new X509Certificate(other.cert).fingerprint256,
    subject: 'CN=127.0.0.1',
    issuer: 'CN=Porthole e2e display CA',
    validTo: 'later',
    firstSeen: new Date().toISOString(),
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await Promise.all([nla?.stop(), tls?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const signIn = () => signInPage(browser, gw.origin, 'alice', 'alice-password');

/** Opens the viewer for a desktop directly (as the list's Open button does). */
async function openViewer(page: Page, uuid: string): Promise<void> {
  await page.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(`${uuid}`)}`);
}

async function failureText(page: Page): Promise<string> {
  await page.waitForSelector('#failed:not([hidden])', { timeout: 30_000 });
  return page.$eval('#failed-text', (e) => e.textContent ?? '');
}

/** Serves the viewer's connect call with attempts changed by `change` (a hostile or broken broker answer). */
async function tamperConnect(page: Page, change: (attempts: Attempt[]) => Promise<Attempt[]> | Attempt[]): Promise<void> {
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (!request.url().includes('/connect') || request.method() !== 'POST') return void request.continue();
    void (async () => {
      const cookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const res = await gw.api('POST', new URL(request.url()).pathname, { cookie, body: JSON.parse(request.postData() ?? '{}') });
      const attempts = await change((res.body as { attempts: Attempt[] }).attempts);
      await request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify({ attempts }) });
    })();
  });
}

let livePage: Page | undefined;

test('SPICE and VNC unreachable: the viewer falls back to RDP by itself, asks for the desktop sign-in (NLA), and typing arrives', async () => {
  const page = await signIn();
  await openViewer(page, CHAIN);
  const submittedAt = await signInToDesktop(page, ACCOUNT.username, ACCOUNT.password);
  const state = await viewerState(page);
  assert.equal(state.state, 'connected', JSON.stringify(state));
  assert.equal(state.protocol, 'rdp');
  assert.deepEqual(
    state.fallbacks.map((f) => f.protocol),
    ['spice', 'vnc'],
  );
  for (const f of state.fallbacks) assert.match(f.reason, /refused the connection/);
  console.log(
    `# RDP (NLA): session setup from the desktop sign-in to the first frame took ${(state.firstFrameAt - submittedAt).toFixed(0)} ms`,
  );
  assert.match(await page.$eval('#notice', (e) => e.textContent ?? ''), /Using RDP because SPICE did not work: .* VNC did not work/);
  const word = await typeWordOverRdp(page);
  await nla.waitForTyped(word, 15_000);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-rdp-fallback.png') });
  // The password went to the desktop only: not into the page, not into Porthole's log.
  assert.ok(!(await page.content()).includes(ACCOUNT.password));
  assert.ok(!gw.logs.some((l) => l.includes(ACCOUNT.password)));
  await page.browserContext().close();
});

test('an RDP-only desktop (TLS, no NLA) opens over RDP and stays open for the next tests', async () => {
  const page = await signIn();
  await openViewer(page, TLS_ONLY);
  const submittedAt = await signInToDesktop(page, 'anyone', 'any-password');
  const state = await viewerState(page);
  assert.equal(state.protocol, 'rdp', JSON.stringify(state));
  assert.deepEqual(state.fallbacks, []);
  console.log(
    `# RDP (TLS): session setup from the desktop sign-in to the first frame took ${(state.firstFrameAt - submittedAt).toFixed(0)} ms`,
  );
  const word = await typeWordOverRdp(page);
  await tls.waitForTyped(word, 15_000);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-rdp.png') });
  livePage = page;
});

test('a wrong password: the viewer says the desktop did not accept it', async () => {
  const page = await signIn();
  await openViewer(page, CHAIN);
  await signInToDesktop(page, ACCOUNT.username, 'not-the-password');
  const text = await failureText(page);
  // FreeRDP ends the connection without saying why; Windows says "logon failure", which the viewer names too.
  assert.match(text, /RDP did not work: .*(did not accept the user name or password|Check the user name and password)/);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-rdp-wrong-password.png') });
  await page.browserContext().close();
});

test('a changed certificate: the viewer says so, and Porthole did not connect', async () => {
  const page = await signIn();
  await openViewer(page, ROGUE);
  await signInToDesktop(page, 'anyone', 'any-password');
  assert.match(await failureText(page), /certificate changed since Porthole first saw it/);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-rdp-certificate.png') });
  await page.browserContext().close();
});

test('a forged token, a replayed token and another destination each get a clear message', async () => {
  const forged = await signIn();
  await tamperConnect(forged, (attempts) => attempts.map((a) => ({ ...a, token: `${a.token.slice(0, -6)}AAAAAA` })));
  await openViewer(forged, TLS_ONLY);
  await signInToDesktop(forged, 'anyone', 'any-password');
  assert.match(await failureText(forged), /connection link is not valid/);
  await forged.browserContext().close();

  const replayed = await signIn();
  await tamperConnect(replayed, async (attempts) => {
    // The same attempt used once already, by another client with this browser's cookie.
    const cookie = (await replayed.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const reader = new WireReader(gw.webSocket(attempts[0]!.url, { cookie }));
    await reader.opened;
    reader.ws.send(
      encodePdu({
        destination: (attempts[0] as Attempt & { destination: string }).destination,
        proxyAuth: attempts[0]!.token,
        x224: x224ConnectionRequest(3),
      }),
    );
    await readDerPdu(reader);
    reader.ws.close();
    return attempts;
  });
  await openViewer(replayed, TLS_ONLY);
  await signInToDesktop(replayed, 'anyone', 'any-password');
  assert.match(await failureText(replayed), /already used/);
  await replayed.browserContext().close();

  const elsewhere = await signIn();
  await tamperConnect(elsewhere, (attempts) => attempts.map((a) => ({ ...a, destination: '192.0.2.50:3389' })));
  await openViewer(elsewhere, TLS_ONLY);
  await signInToDesktop(elsewhere, 'anyone', 'any-password');
  assert.match(await failureText(elsewhere), /asked for another machine/);
  await elsewhere.screenshot({ path: join(SCREENSHOTS, 'viewer-rdp-destination.png') });
  await elsewhere.browserContext().close();
});

test('the RDP session opened before the failures still works', async () => {
  assert.ok(livePage, 'the RDP-only test left its session open');
  assert.equal(((await livePage.evaluate('window.portholeViewer')) as { state: string }).state, 'connected');
  const word = await typeWordOverRdp(livePage, 'still');
  await tls.waitForTyped(word, 15_000);
  await livePage.browserContext().close();
});
