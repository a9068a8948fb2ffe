// Copy and paste between a browser and a desktop, as a person working from home does: real
// Chromium, the real gateway, two real guests with an X clipboard and spice-vdagent under
// libvirtd, one on SPICE's agent channel and one on QEMU's clipboard bridge for VNC. The guest
// prints its clipboard to the serial port when it changes, and `copy WORD` typed into its
// display's shell puts WORD on it (test/bed/guest-image.ts, the agent guest). The SPICE guest
// also has a sound card playing a tone, so the same guest proves the sound.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchChromium } from '../bed/chromium.js';
import { SCREENSHOTS } from '../bed/desktop-bed.js';
import { defineDesktop, type RunningDesktop } from '../bed/desktop.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { typeIntoDesktop } from '../bed/keyboard.js';
import { startLibvirtd, type Libvirtd } from '../bed/libvirtd.js';
import { signInPage } from '../bed/person.js';
import { watchPageErrors } from '../bed/page-errors.js';
import { hearNow, listenTo, loudestOver, type Heard } from '../bed/page-ear.js';
import { waitForValue } from '../bed/deadline.js';

let libvirtd: Libvirtd | undefined;
const guests: Partial<Record<'spice' | 'vnc', RunningDesktop>> = {};
let gw: RunningGateway | undefined;
let browser: Browser | undefined;

before(async () => {
  libvirtd = await startLibvirtd();
  // Both guests boot at once: each takes 10-20 s under TCG to its agent.
  const [spice, vnc] = await Promise.all([
    defineDesktop(libvirtd.uri, { name: 'clip-spice', users: ['alice'], agent: 'spice', vnc: false, sound: true, power: true }),
    defineDesktop(libvirtd.uri, { name: 'clip-vnc', users: ['alice'], agent: 'vnc', spice: false }),
  ]);
  Object.assign(guests, { spice, vnc });
  gw = await startTestGateway({
    libvirt: `lab=${libvirtd.uri}`,
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await Promise.all(Object.values(guests).map((g) => g.destroy()));
  await libvirtd?.stop();
});

/** Signs alice in, opens `desktop`'s viewer (optionally view-only) and waits for the connection. */
async function openViewer(desktop: RunningDesktop, viewOnly = false): Promise<Page> {
  const page = await signInPage(browser!, gw!.origin, 'alice', 'alice-password');
  // The Async Clipboard API, as a person who allowed it in the browser's prompt has it.
  await page.browserContext().overridePermissions(gw!.origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
  await page.setViewport({ width: 1366, height: 768 });
  await listenTo(page);
  await page.goto(`${gw!.origin}/viewer.html?desktop=${encodeURIComponent(desktop.uuid)}${viewOnly ? '&viewOnly=1' : ''}`);
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 30_000 });
  await page.waitForSelector('#clipboard:not([hidden])', { timeout: 5_000 });
  return page;
}

/** Text one way and the other: browser -> guest through the panel, guest -> browser through `copy`. */
async function bothWays(page: Page, desktop: RunningDesktop, protocol: string): Promise<void> {
  const errors = watchPageErrors(page);
  // SPICE: the agent announces itself some seconds after the guest's X stack starts.
  await page.waitForSelector('#clipboard-panel[data-ready="true"]', { timeout: 60_000 });
  await page.click('#clipboard');
  await page.waitForSelector('#clipboard-panel:not([hidden]) .send-part:not([hidden])');

  // UTF-8 both ways of the wire: the serial log is read byte by byte.
  const toGuest = `grüße-${randomBytes(4).toString('hex')}`;
  await page.type('#clipboard-panel .outgoing', toGuest);
  await page.click('#clipboard-panel .send');
  await desktop.serial.waitFor(`PORTHOLE-CLIPBOARD:${Buffer.from(toGuest).toString('latin1')}`, 20_000);
  assert.match(await page.$eval('#clipboard-panel .clipboard-status', (e) => e.textContent ?? ''), /Sent to the desktop/);
  await page.screenshot({ path: join(SCREENSHOTS, `clipboard-${protocol}-laptop.png`) });

  const fromGuest = `fromguest${randomBytes(4).toString('hex')}`;
  await page.click('#clipboard-panel .close');
  await (await page.waitForSelector('#screen canvas'))!.click();
  await typeIntoDesktop(page, `copy ${fromGuest}\n`);
  await page.waitForFunction(`document.querySelector('#clipboard-panel .received').value === ${JSON.stringify(fromGuest)}`, {
    timeout: 20_000,
  });
  // Also on the browser's own clipboard, where it allows the page to write it.
  await page.bringToFront();
  assert.equal(await page.evaluate('navigator.clipboard.readText()'), fromGuest);
  assert.ok(await page.$eval('#clipboard', (e) => e.classList.contains('has-news')), 'the closed control says something arrived');

  await page.click('#clipboard');
  await page.setViewport({ width: 390, height: 844 });
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  const box = (await page.$eval('#clipboard-panel', (e) => {
    const r = e.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  })) as { left: number; right: number; top: number; bottom: number };
  assert.ok(box.left >= 0 && box.right <= 390 && box.bottom <= 844, `the panel fits a phone: ${JSON.stringify(box)}`);
  await page.screenshot({ path: join(SCREENSHOTS, `clipboard-${protocol}-phone.png`) });
  assert.deepEqual(errors.list(), [], 'no script errors');
}

test('SPICE: text sent from the browser reaches the guest clipboard, and text copied in the guest reaches the browser', async () => {
  const page = await openViewer(guests.spice!);
  assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), 'spice');
  await bothWays(page, guests.spice!, 'spice');
  await page.browserContext().close();
});

test('VNC: the same over the extended clipboard and QEMU’s bridge to the guest agent', async () => {
  const page = await openViewer(guests.vnc!);
  assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), 'vnc');
  await bothWays(page, guests.vnc!, 'vnc');
  await page.browserContext().close();
});

test('view only: the clipboard panel offers nothing to send', async () => {
  const page = await openViewer(guests.vnc!, true);
  await page.click('#clipboard');
  await page.waitForSelector('#clipboard-panel:not([hidden])');
  assert.equal(await page.$eval('#clipboard-panel .send-part', (e) => e.hasAttribute('hidden')), true);
  await page.browserContext().close();
});

/** How many rows the toolbar's visible controls take (the phone's compact bar scrolls sideways instead of wrapping). */
async function toolbarRows(page: Page): Promise<number> {
  return (await page.$$eval('#toolbar > *', (items) => {
    const middles = items
      .filter((e) => (e as unknown as { offsetWidth: number }).offsetWidth > 0)
      .map((e) => {
        const r = e.getBoundingClientRect();
        return (r.top + r.bottom) / 2;
      })
      .sort((a, b) => a - b);
    // A row's items are centred on one line; a wrapped row's are a whole control lower.
    return middles.filter((m, i) => i === 0 || m - middles[i - 1]! > 12).length;
  })) as number;
}

/** Waits until the page plays the guest's tone (440 Hz, half of full scale in the guest) at least `loudness` loud. */
async function waitForTone(page: Page, loudness: number, what: string): Promise<Heard> {
  return waitForValue(
    () => hearNow(page),
    (h) => h.peak >= loudness && Math.abs(h.pitch - 440) < 30,
    60_000,
    what,
  );
}

test("SPICE sound: the guest's tone plays in the page after the person's first click; Sound mutes it and the slider turns it down", async () => {
  const page = await openViewer(guests.spice!);
  try {
    const errors = watchPageErrors(page);
    await page.waitForSelector('#sound:not([hidden])', { timeout: 60_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'viewer-spice-sound-laptop.png') });
    assert.equal(await toolbarRows(page), 1, 'the toolbar is one row at 1366 px, with the sound controls');
    await guests.spice!.serial.waitFor('PORTHOLE-SOUND-PLAYING', 60_000);
    await (await page.waitForSelector('#screen canvas'))!.click(); // the gesture browsers require before sound

    const heard = await waitForTone(page, 0.3, "the guest's tone in the page");
    console.log(`# SPICE sound: the page plays ${heard.pitch.toFixed(0)} Hz at ${heard.peak.toFixed(2)} of full scale`);

    await page.click('#sound');
    assert.equal(await page.$eval('#sound', (e) => e.getAttribute('aria-pressed')), 'false');
    // The analyser still holds the last 85 ms from before the click: silent once that has passed, then for a whole second.
    await waitForValue(
      () => hearNow(page),
      (h) => h.peak < 0.01,
      30_000,
      'silence after Sound off',
    );
    const muted = await loudestOver(page, 1);
    assert.ok(muted < 0.01, `muted stays silent: peak ${muted}`);
    await page.click('#sound');
    await waitForTone(page, 0.3, 'the tone again after unmuting');

    // A quarter of the volume: the tone at about a quarter of its loudness.
    await page.$eval('#volume', (e) => {
      const slider = e as unknown as { value: string; dispatchEvent(event: Event): void };
      slider.value = '25';
      slider.dispatchEvent(new Event('input'));
    });
    const quiet = await waitForValue(
      () => hearNow(page),
      (h) => h.peak > 0.05 && h.peak < 0.2,
      30_000,
      'the tone at a quarter of the volume',
    );
    console.log(`# SPICE sound: at 25 % volume, ${quiet.peak.toFixed(2)} of full scale`);

    await page.setViewport({ width: 390, height: 844 });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    await page.screenshot({ path: join(SCREENSHOTS, 'viewer-spice-sound-phone.png') });
    assert.equal(await toolbarRows(page), 1, "the phone's compact bar is one row");
    const button = (await page.$eval('#sound', (e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, width: r.width };
    })) as { left: number; right: number; width: number };
    assert.ok(button.width > 0 && button.right <= 390, `the Sound button shows on a phone: ${JSON.stringify(button)}`);
    assert.equal(
      await page.$eval('#volume', (e) => (e as unknown as { offsetWidth: number }).offsetWidth),
      0,
      'a phone has its own volume buttons',
    );
    assert.deepEqual(errors.list(), [], 'no script errors');
  } finally {
    await page.browserContext().close();
  }
});

test('SPICE sound, view only: a watcher hears the desktop too, over the playback channel the proxy carries', async () => {
  const page = await openViewer(guests.spice!, true);
  try {
    await page.waitForSelector('#sound:not([hidden])', { timeout: 60_000 });
    await (await page.waitForSelector('#screen canvas'))!.click();
    await waitForTone(page, 0.3, "the guest's tone in a view-only page");
    const metrics = await gw!.metrics();
    const playback = /porthole_proxy_bytes_total\{protocol="spice",channel="spice.playback",direction="to_client"\} (\d+)/.exec(metrics);
    assert.ok(Number(playback?.[1] ?? 0) > 0, 'the proxy carried the playback channel');
  } finally {
    await page.browserContext().close();
  }
});
