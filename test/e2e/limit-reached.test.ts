// A limit reached, as the user sees it in Chromium: alice already has a desktop open (a real
// display session through the proxy to a synthetic VNC display) and limits.sessionsPerUser is 1;
// opening another from the viewer shows connect's 429 sentence, which names the limit and says
// what to do, and closing the first lets "Try again" open the second.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { launchChromium } from '../bed/chromium.js';
import { waitFor } from '../bed/deadline.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { signInPage } from '../bed/person.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { writeTestDriver } from '../bed/test-driver.js';

const FIRST = '11a11e2e-0000-4000-8000-000000000001';
const SECOND = '11a11e2e-0000-4000-8000-000000000002';
const dir = mkdtempSync(join(tmpdir(), 'porthole-limit-e2e-'));
let display: DisplayServer;
let gw: RunningGateway;
let browser: Browser;

before(async () => {
  display = await startDisplayServer('echo');
  const vnc = { port: display.port, password: '' };
  const libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'first-desk', uuid: FIRST, users: ['alice'], vnc },
    { name: 'second-desk', uuid: SECOND, users: ['alice'], vnc },
  ]);
  gw = await startTestGateway({
    libvirt,
    users: [{ name: 'alice', password: 'alice-limit-password', role: 'user' }],
    config: { limits: { sessionsPerUser: 1 } },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await display?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the viewer shows the 429 sentence naming the limit and what to do next', async () => {
  // The desktop alice has open elsewhere (another computer).
  const cookie = await gw.signIn('alice', 'alice-limit-password');
  const [attempt] = await gw.connect(cookie, FIRST, { protocols: ['vnc'] });
  const reader = new WireReader(gw.webSocket(attempt!.url, { cookie }));
  await vncHandshake(reader);
  await waitFor(async () => (await gw.gateway.proxy.sessions.list()).length === 1, 10_000, 'the first session to be live');

  const page = await signInPage(browser, gw.origin, 'alice', 'alice-limit-password');
  const refused = page.waitForResponse((r) => r.url().endsWith(`/api/desktops/${SECOND}/connect`));
  await page.goto(`${gw.origin}/viewer.html?desktop=${SECOND}`);
  assert.equal((await refused).status(), 429);
  await page.waitForSelector('#failed:not([hidden])', { timeout: 30_000 });
  const text = await page.$eval('#failed-text', (e) => e.textContent ?? '');
  assert.match(text, /You already have 1 desktop open, the most one person may have at once \(limits\.sessionsPerUser is 1\)/);
  assert.match(text, /Close one of them \(its tab or window\), then open this one again\./);
  assert.equal(await page.$eval('#reconnect', (e) => (e as unknown as { hidden: boolean }).hidden), false, '"Try again" is offered');
  await page.screenshot({ path: join(SCREENSHOTS, 'limit-reached.png') });

  // Closing the first frees the place: "Try again" gets tokens for the second.
  reader.ws.close();
  await reader.closed;
  await waitFor(async () => (await gw.gateway.proxy.sessions.list()).length === 0, 10_000, 'the first session to end');
  const allowed = page.waitForResponse((r) => r.url().endsWith(`/api/desktops/${SECOND}/connect`));
  await page.click('#reconnect');
  assert.equal((await allowed).status(), 200);
  await page.browserContext().close();
});
