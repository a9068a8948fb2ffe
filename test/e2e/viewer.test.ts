// A student opens a desktop in a browser tab: real Chromium, the real gateway, a real guest
// under libvirtd (and once `porthole serve` as a process of its own, to crash it). Each test
// proves input reached the guest by reading the guest's serial port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import type { RunningDesktop } from '../bed/desktop.js';
import { SCREENSHOTS, startDesktopBed, type DesktopBed } from '../bed/desktop-bed.js';
import type { RunningGateway } from '../bed/gateway.js';
import { openDesktop, signInPage as signIn, typeAndExpect, typeWord } from '../bed/person.js';
import { typeIntoDesktop } from '../bed/keyboard.js';
import { freePort } from '../bed/ports.js';
import { recordSecret } from '../bed/secret-record.js';
import { serve } from '../bed/served.js';
import { UserStore } from '../../gateway/users.js';
import { spiceLink, WireReader } from '../bed/protocol-clients.js';

const FALLBACK = 'f0000000-0000-4000-8000-00000000000f';
const BROKEN = 'b0000000-0000-4000-8000-00000000000b';
/** Shut off, and its users may start it: its VNC display is the real guest's. */
const OFF = 'c0000000-0000-4000-8000-00000000000c';

let bed: DesktopBed;
let desktop: RunningDesktop;
let gw: RunningGateway;
let browser: Browser;
const signInPage = (user: string, password: string) => signIn(browser, gw.origin, user, password, join(SCREENSHOTS, 'signin.png'));

before(async () => {
  bed = await startDesktopBed({
    desktop: { name: 'class-3b-desk-1', users: ['alice'] },
    // A second hypervisor describes a desktop whose SPICE display is unreachable and whose VNC
    // display is the real guest's (the viewer must fall back by itself), and one with neither.
    spare: async (running) => {
      const closed = await freePort();
      return [
        {
          name: 'lab-spare',
          uuid: FALLBACK,
          groups: ['class-3b'],
          spice: { port: closed, password: 'x' },
          vnc: { port: running.vncPort, password: running.vncPassword },
        },
        {
          name: 'lab-off',
          uuid: OFF,
          running: false,
          power: true,
          users: ['alice'],
          vnc: { port: running.vncPort, password: running.vncPassword },
        },
        {
          name: 'lab-broken',
          uuid: BROKEN,
          groups: ['class-3b'],
          spice: { port: closed, password: 'x' },
          vnc: { port: closed, password: 'x' },
        },
      ];
    },
    users: [
      { name: 'alice', password: 'alice-password', role: 'user', groups: ['class-3b'] },
      { name: 'bob', password: 'bob-password', role: 'user', groups: ['class-3a'] },
      { name: 'ada', password: 'ada-password', role: 'admin' },
    ],
  });
  ({ desktop, gw, browser } = bed);
});

after(() => bed?.close());

test('a student signs in, opens the desktop over SPICE, and types into the guest', async () => {
  const page = await signInPage('alice', 'alice-password');
  const names = await page.$$eval('.desktop h2', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names.sort(), ['class-3b-desk-1', 'lab-broken', 'lab-off', 'lab-spare']);
  await page.screenshot({ path: join(SCREENSHOTS, 'desktops.png') });
  const opened = await openDesktop(page, `${desktop.uuid}`);
  assert.equal(opened.protocol, 'spice');
  assert.deepEqual(opened.fallbacks, []);
  console.log(`# SPICE: opening the desktop to its first frame took ${(opened.firstFrameAt - opened.openedAt).toFixed(0)} ms`);
  assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /Connected over SPICE/);
  const word = await typeAndExpect(page, desktop.serial);
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))'); // a painted frame for the picture
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-spice.png') });
  // The page never held a display password.
  const html = await page.content();
  assert.ok(!html.includes(desktop.spicePassword) && !html.includes(desktop.vncPassword));
  assert.ok(word);

  // A token replayed after use is refused: the SPICE token opened a session already.
  const spice = opened.attempts.find((a) => a.protocol === 'spice')!;
  const cookie = (await page.cookies()).find((c) => c.name === 'porthole_session')!;
  const replay = new WireReader(gw.webSocket(spice.url, { protocol: 'binary', cookie: `porthole_session=${cookie.value}` }));
  await replay.opened;
  replay.ws.send(spiceLink(0, 1));
  const closed = await replay.closed;
  assert.equal(closed.code, 4001);
  assert.match(closed.reason, /already used/);
  await page.browserContext().close();
});

test('with SPICE unreachable the viewer falls back to VNC by itself and says why', async () => {
  const page = await signInPage('alice', 'alice-password');
  const opened = await openDesktop(page, `${FALLBACK}`);
  assert.equal(opened.protocol, 'vnc');
  assert.equal(opened.fallbacks.length, 1);
  assert.equal(opened.fallbacks[0]!.protocol, 'spice');
  assert.match(opened.fallbacks[0]!.reason, /SPICE display refused the connection/);
  console.log(
    `# VNC after SPICE failed: opening the desktop to its first frame took ${(opened.firstFrameAt - opened.openedAt).toFixed(0)} ms`,
  );
  const notice = await page.$eval('#notice', (e) => ({ hidden: e.hasAttribute('hidden'), text: e.textContent ?? '' }));
  assert.equal(notice.hidden, false);
  assert.match(notice.text, /Using VNC because SPICE did not work: The desktop's SPICE display refused the connection/);
  await typeAndExpect(page, desktop.serial);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-vnc-fallback.png') });
  await page.browserContext().close();
});

test('view only: the page shows the desktop, and what is typed never reaches the guest', async () => {
  const page = await signInPage('alice', 'alice-password');
  await page.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(`${desktop.uuid}`)}&viewOnly=1`);
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
  assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), 'spice');
  assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /view only/);
  const word = await typeWord(page, 'watched');
  // Proof by contrast: the same page with control types into the guest within seconds.
  await page.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(`${desktop.uuid}`)}`);
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
  await typeAndExpect(page, desktop.serial);
  assert.ok(!desktop.serial.contents().includes(word), 'view-only keystrokes reached the guest');
  await page.browserContext().close();
});

test('when no display can be opened the viewer says why for each and what to do next', async () => {
  const page = await signInPage('alice', 'alice-password');
  await page.click(`.desktop[data-desktop-id="${BROKEN}"] .open`);
  await page.waitForSelector('#viewer[data-state="failed"]', { timeout: 30_000 });
  const text = await page.$eval('#failed-text', (e) => e.textContent ?? '');
  assert.match(text, /SPICE did not work: The desktop's SPICE display refused the connection/);
  assert.match(text, /VNC did not work: The desktop's VNC display refused the connection/);
  assert.match(text, /ask your administrator/);
  assert.equal(await page.$eval('#reconnect', (e) => e.hasAttribute('hidden')), false);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-failed.png') });
  await page.browserContext().close();
});

test("a user not entitled to the desktop cannot list it, connect to it, or use another user's token", async () => {
  const bob = await gw.signIn('bob', 'bob-password');
  const list = await gw.api('GET', '/api/desktops', { cookie: bob });
  assert.deepEqual(list.body, []);
  const connect = await gw.api('POST', `/api/desktops/${encodeURIComponent(`${desktop.uuid}`)}/connect`, { cookie: bob, body: {} });
  assert.equal(connect.status, 403);
  assert.match((connect.body as { error: string }).error, /may not open/);

  const alice = await gw.signIn('alice', 'alice-password');
  const [vnc] = await gw.connect(alice, `${desktop.uuid}`, { protocols: ['vnc'] });
  const stolen = new WireReader(gw.webSocket(vnc!.url, { cookie: bob }));
  const closed = await stolen.closed;
  assert.equal(closed.code, 4003);
  assert.match(closed.reason, /another browser session/);
});

/** Where the remote screen's canvas and the toolbar are, in CSS pixels. */
async function layout(page: Page): Promise<{ canvas: { left: number; top: number; right: number; bottom: number }; toolbar: number }> {
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  return (await page.evaluate(`(() => {
    const canvases = [...document.querySelectorAll('#screen canvas')].filter((c) => c.getBoundingClientRect().width > 0);
    const r = canvases[canvases.length - 1].getBoundingClientRect();
    return { canvas: { left: r.left, top: r.top, right: r.right, bottom: r.bottom }, toolbar: document.getElementById('toolbar').getBoundingClientRect().height };
  })()`)) as { canvas: { left: number; top: number; right: number; bottom: number }; toolbar: number };
}

test('the whole remote screen is visible, scaled to the window, on a 1366x768 laptop and on a 390x844 phone, over SPICE and VNC', async () => {
  const page = await signInPage('alice', 'alice-password');
  for (const [id, protocol] of [
    [desktop.uuid, 'spice'],
    [FALLBACK, 'vnc'],
  ] as const) {
    await page.setViewport({ width: 1366, height: 768 });
    await page.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(id)}`);
    await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
    assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), protocol);
    for (const [width, height, name] of [
      [1366, 768, 'laptop'],
      [390, 844, 'phone'],
    ] as const) {
      // Width and height only: puppeteer reloads the page when isMobile changes.
      await page.setViewport({ width, height });
      const { canvas, toolbar } = await layout(page);
      await page.screenshot({ path: join(SCREENSHOTS, `viewer-${protocol}-${name}.png`) });
      const where = `${protocol} at ${width}x${height}: canvas ${JSON.stringify(canvas)}`;
      assert.ok(canvas.left >= -1 && canvas.right <= width + 1, `the screen's width fits: ${where}`);
      assert.ok(canvas.top >= toolbar - 1 && canvas.bottom <= height + 1, `the screen's height fits below the toolbar: ${where}`);
      assert.ok(
        canvas.right - canvas.left > width * 0.9 || canvas.bottom - canvas.top > (height - toolbar) * 0.9,
        `it fills the window: ${where}`,
      );
      if (name === 'phone') assert.ok(toolbar <= 48, `a phone's toolbar is one compact row, not ${toolbar} px`);
    }
  }
  await page.browserContext().close();
});

test('on a 390x844 phone, what the on-screen keyboard types (text input, not key presses) reaches the guest over SPICE and VNC', async () => {
  const page = await signInPage('alice', 'alice-password');
  await page.setViewport({ width: 390, height: 844 });
  const cdp = await page.createCDPSession();
  for (const [id, protocol] of [
    [desktop.uuid, 'spice'],
    [FALLBACK, 'vnc'],
  ] as const) {
    await page.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(id)}`);
    await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
    assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), protocol);
    await page.waitForSelector('#osk:not([hidden])');
    await page.click('#osk');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'osk-input', 'the field that opens the keyboard has the focus');
    // As a phone's keyboard, dictation or an IME delivers text: input events, no key events.
    const word = `Osk${protocol}${Date.now().toString(36)}`;
    await cdp.send('Input.insertText', { text: `echo ${word} > /dev/ttyS0` });
    await cdp.send('Input.insertText', { text: '\n' });
    await desktop.serial.waitFor(word, 20_000);
    assert.equal(await page.$eval('#osk-input', (e) => (e as unknown as { value: string }).value), '', 'the field keeps no text');
    if (protocol === 'spice') await page.screenshot({ path: join(SCREENSHOTS, 'viewer-phone-keyboard.png') });
  }
  await page.browserContext().close();
});

/** The viewer's state and its failure panel's words. */
async function viewerEnd(page: Page): Promise<{ state: string; title: string; text: string; reconnects: number; retry: string | null }> {
  // A string, evaluated in the page (this file is compiled without the DOM's types).
  type End = { state: string; title: string; text: string; reconnects: number; retry: string | null };
  return (await page.evaluate(`({
    state: document.getElementById('viewer').dataset.state ?? '',
    title: document.getElementById('failed-title').textContent ?? '',
    text: document.getElementById('failed-text').textContent ?? '',
    reconnects: window.portholeViewer.reconnects,
    retry: document.getElementById('reconnect').hidden ? null : document.getElementById('reconnect').textContent,
  })`)) as End;
}

/**
 * The viewer reconnected once, by itself, over SPICE still, and gave the keyboard back: a word
 * typed without clicking first (the keys go where the reconnect put the focus) reaches the guest.
 */
async function reconnectedWithKeyboard(page: Page, prefix: string): Promise<void> {
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 90_000 });
  const after = (await page.evaluate('window.portholeViewer')) as { protocol: string; reconnects: number };
  assert.equal(after.protocol, 'spice', 'the protocol in use is kept');
  assert.equal(after.reconnects, 1);
  assert.equal(await page.evaluate('document.activeElement?.tagName'), 'CANVAS', 'the keyboard is given back to the desktop');
  const word = `${prefix}${Date.now().toString(36)}`;
  await typeIntoDesktop(page, `echo ${word} > /dev/ttyS0\n`);
  await desktop.serial.waitFor(word, 20_000);
}

test('after the gateway stops and starts again the viewer reconnects by itself over the same protocol, and the keyboard works again', async () => {
  const page = await signInPage('alice', 'alice-password');
  const opened = await openDesktop(page, `${desktop.uuid}`);
  assert.equal(opened.protocol, 'spice');
  await typeAndExpect(page, desktop.serial);
  const restarted = gw.restart();
  await page.waitForSelector('#viewer[data-state="reconnecting"]', { timeout: 30_000 });
  assert.match(await page.$eval('#reconnecting-title', (e) => e.textContent ?? ''), /Reconnecting… \(attempt \d+\)/);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-reconnecting.png') });
  await restarted;
  await reconnectedWithKeyboard(page, 'back');
  await page.browserContext().close();
});

test('after the gateway process is killed (SIGKILL) and started again on its data, the viewer reconnects by itself and the keyboard works again', async () => {
  // `porthole serve` as its own process on the same libvirtd: a crash, not a close. No close frame
  // reaches the browser; the sign-in, the keys and the users are what the data folder kept.
  const data = mkdtempSync(join(tmpdir(), 'porthole-crash-'));
  await new UserStore(data).upsert('alice', 'alice-password', 'user', ['class-3b']);
  const libvirt = `lab=${bed.libvirtd.uri}`;
  let served = await serve({ data, libvirt });
  try {
    const page = await signIn(browser, served.origin, 'alice', 'alice-password');
    assert.equal((await openDesktop(page, `${desktop.uuid}`)).protocol, 'spice');
    await typeAndExpect(page, desktop.serial);
    served.kill();
    assert.equal(await served.exited, null, 'ended by the signal');
    await page.waitForSelector('#viewer[data-state="reconnecting"]', { timeout: 30_000 });
    served = await serve({ data, libvirt, port: served.port });
    await reconnectedWithKeyboard(page, 'crash');
    await page.browserContext().close();
  } finally {
    served.kill();
    rmSync(data, { recursive: true, force: true });
  }
});

test('a second tab takes the desktop over: the first says so and does not take it back, and an administrator’s end is not reconnected either', async () => {
  const first = await signInPage('alice', 'alice-password');
  assert.equal((await openDesktop(first, `${desktop.uuid}`)).protocol, 'spice');
  const second = await first.browserContext().newPage();
  await second.goto(`${gw.origin}/viewer.html?desktop=${encodeURIComponent(desktop.uuid)}`);
  await second.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
  await first.waitForSelector('#viewer[data-state="closed"]', { timeout: 15_000 });
  await first.screenshot({ path: join(SCREENSHOTS, 'viewer-taken-over.png') });
  let end = await viewerEnd(first);
  assert.equal(end.title, 'Opened somewhere else');
  assert.match(end.text, /opened in another tab or window/);
  assert.equal(end.retry, 'Open again');
  // Still closed a while later (no reconnect, so no tug of war), and the second tab still works.
  await new Promise((r) => setTimeout(r, 4000));
  end = await viewerEnd(first);
  assert.equal(end.state, 'closed');
  assert.equal(end.reconnects, 0);
  assert.equal(await second.$eval('#viewer', (e) => e.getAttribute('data-state')), 'connected');
  await typeAndExpect(second, desktop.serial);

  // An administrator ends the second tab's session.
  const admin = await gw.signIn('ada', 'ada-password');
  const sessions = (await gw.api('GET', '/api/sessions', { cookie: admin })).body as Array<{ id: string; desktop: string; user: string }>;
  const live = sessions.find((x) => x.desktop === desktop.uuid && x.user === 'alice');
  assert.ok(live, 'the session is listed');
  assert.equal((await gw.api('DELETE', `/api/sessions/${live.id}`, { cookie: admin })).status, 204);
  await second.waitForSelector('#viewer[data-state="closed"]', { timeout: 15_000 });
  end = await viewerEnd(second);
  assert.equal(end.title, 'Session ended by an administrator');
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await viewerEnd(second)).reconnects, 0);
  await first.browserContext().close();
});

test('a desktop that is off: a deep link survives the sign-in, the viewer offers Start with progress, opens it once it runs, and shutting down asks first', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1366, height: 768 });
  await page.goto(`${gw.origin}/viewer.html?desktop=${OFF}`);
  // Not signed in: to the sign-in page, and back to this desktop after it.
  await page.waitForSelector('#signin:not([hidden])', { timeout: 15_000 });
  assert.match(page.url(), /\?return=%2Fviewer\.html/);
  await page.type('#username', 'alice');
  await page.type('#password', 'alice-password');
  await Promise.all([page.waitForNavigation(), page.click('#signin-submit')]);
  assert.match(page.url(), new RegExp(`/viewer\\.html\\?desktop=${OFF}$`));
  for (const c of await context.cookies()) recordSecret(`browser cookie ${c.name}`, c.value);

  await page.waitForSelector('#viewer[data-state="stopped"]', { timeout: 15_000 });
  await page.waitForSelector('#start:not([hidden])');
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-desktop-off.png') });
  await page.click('#start');
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 60_000 });
  assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), 'vnc');
  await typeAndExpect(page, desktop.serial);

  // Shut down is in the toolbar for those who may, and asks before it acts.
  await page.waitForSelector('#shutdown:not([hidden])');
  await page.click('#shutdown');
  await page.waitForSelector('#confirm[open]');
  assert.match(await page.$eval('#confirm .question', (e) => e.textContent ?? ''), /Shut this desktop down\?/);
  await page.screenshot({ path: join(SCREENSHOTS, 'viewer-confirm-shutdown.png') });
  await page.click('#confirm .no');
  assert.equal(await page.$eval('#confirm', (e) => e.hasAttribute('open')), false);
  const alice = await gw.signIn('alice', 'alice-password');
  const stateOf = async () =>
    ((await gw.api('GET', '/api/desktops', { cookie: alice })).body as Array<{ id: string; state: string }>).find((d) => d.id === OFF)
      ?.state;
  assert.equal(await stateOf(), 'running', 'Cancel did nothing');
  await page.click('#shutdown');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm .yes');
  await page.waitForFunction("/shutting down/.test(document.getElementById('notice')?.textContent ?? '')", { timeout: 10_000 });
  assert.equal(await stateOf(), 'shut off');
  await context.close();
});

/** Bytes the proxy has carried to the guest on SPICE's inputs channel, from /metrics. */
async function spiceInputBytes(): Promise<number> {
  const text = await gw.metrics();
  return Number(/porthole_proxy_bytes_total\{protocol="spice",channel="spice.inputs",direction="to_display"\} (\d+)/.exec(text)?.[1] ?? 0);
}

// Last in this file: Ctrl+Alt+Del (the tiny guest's init only reports it, but keep it last).
test("over SPICE, keys go by physical key (the ISO key left of Z gives `<`, the keypad's `*` and `-` arrive, no alert blocks the tab), and the toolbar's Ctrl+Alt+Del reaches the desktop and gives the keyboard back", async () => {
  const page = await signInPage('alice', 'alice-password');
  const opened = await openDesktop(page, `${desktop.uuid}`);
  assert.equal(opened.protocol, 'spice');
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));

  await (await page.waitForSelector('#screen canvas'))!.click();
  // The ISO key (IntlBackslash) has no key of its own on a US keyboard, so puppeteer has no name
  // for it: it is pressed through the DevTools protocol, as a German or Spanish keyboard sends it.
  const cdp = await page.createCDPSession();
  const isoKey = async () => {
    for (const type of ['rawKeyDown', 'keyUp'] as const)
      await cdp.send('Input.dispatchKeyEvent', {
        type,
        code: 'IntlBackslash',
        key: '<',
        windowsVirtualKeyCode: 226,
        nativeVirtualKeyCode: 226,
      });
  };
  await typeIntoDesktop(page, "echo 'iso");
  await isoKey(); // the guest's US console layout makes `<` of it, as Linux's does of key 86
  await typeIntoDesktop(page, "key' > /dev/ttyS0\n");
  await desktop.serial.waitFor('iso<key', 20_000);
  // The keypad's * and - (puppeteer types both characters with the keypad's keys).
  await typeIntoDesktop(page, "echo 'kp");
  await page.keyboard.press('NumpadMultiply');
  await page.keyboard.press('NumpadSubtract');
  await typeIntoDesktop(page, "x' > /dev/ttyS0\n");
  await desktop.serial.waitFor('kp*-x', 20_000);
  assert.deepEqual(dialogs, [], 'no alert blocks the page');

  // The guest's init says PORTHOLE-CTRL-ALT-DEL on its serial port when its kernel sees the keys.
  const seen = () => desktop.serial.contents().split('PORTHOLE-CTRL-ALT-DEL').length - 1;
  const seenBefore = seen();
  const before = await spiceInputBytes();
  const clicked = Date.now();
  await page.click('#cad');
  await desktop.serial.waitFor(new RegExp(`(PORTHOLE-CTRL-ALT-DEL[^]*){${seenBefore + 1}}`), 30_000);
  console.log(`# Ctrl+Alt+Del: from the toolbar click to the guest kernel's signal to init: ${Date.now() - clicked} ms`);
  assert.equal(seen(), seenBefore + 1, 'the guest saw Ctrl+Alt+Del once');
  assert.deepEqual(errors, [], 'Ctrl+Alt+Del raises no error in the page');
  assert.ok((await spiceInputBytes()) > before, 'key messages went to the guest over the inputs channel');
  assert.equal(await page.evaluate('document.activeElement?.tagName'), 'CANVAS', 'the keyboard is back on the desktop');
  await page.browserContext().close();
});
