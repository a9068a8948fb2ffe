// A desktop on a phone and on a HiDPI laptop: touch gestures over SPICE and VNC reach the guest
// (its kernel logs the tablet's events to the serial port: where the pointer was, the buttons,
// the wheel), the desktop at its own size is drawn one desktop pixel per device pixel, and the
// window's size is asked of the guest, which scales where the guest cannot follow.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CDPSession, Page } from 'puppeteer-core';
import { waitFor, waitForValue } from '../bed/deadline.js';
import { defineDesktop } from '../bed/desktop.js';
import { SCREENSHOTS, startDesktopBed, type DesktopBed } from '../bed/desktop-bed.js';
import { ABS_MAX, BTN_LEFT, inputEvents, pointerStory, type PointerStory } from '../bed/guest-input.js';
import { signInPage } from '../bed/person.js';

/** The same guest's VNC display alone (a desktop of the test-driver hypervisor), so that the viewer opens it over VNC. */
const VNC_ONLY = 'e0000000-0000-4000-8000-00000000000e';
const PHONE = { width: 390, height: 844, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
const HIDPI_LAPTOP = { width: 1366, height: 768, deviceScaleFactor: 2 };

let bed: DesktopBed;

before(async () => {
  bed = await startDesktopBed({
    desktop: { name: 'touch-desk', users: ['alice'], tablet: true },
    spare: (running) => [
      { name: 'touch-desk-vnc', uuid: VNC_ONLY, users: ['alice'], vnc: { port: running.vncPort, password: running.vncPassword } },
    ],
    users: [{ name: 'alice', password: 'alice-password', role: 'user' }],
  });
});
after(() => bed?.close());

interface Point {
  x: number;
  y: number;
}

/** A viewer page of `desktop` in `viewport`, connected; the console's messages are kept. */
async function openViewer(desktop: string, viewport: Parameters<Page['setViewport']>[0]): Promise<{ page: Page; messages: string[] }> {
  const page = await signInPage(bed.browser, bed.gw.origin, 'alice', 'alice-password');
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  await page.setViewport(viewport);
  await page.goto(`${bed.gw.origin}/viewer.html?desktop=${encodeURIComponent(desktop)}`);
  await page.waitForSelector('#viewer[data-state="connected"]', { timeout: 60_000 });
  return { page, messages };
}

/** The desktop's canvas: its own pixels and where it is on the page (CSS pixels). */
async function canvasBox(
  page: Page,
): Promise<{ width: number; height: number; left: number; top: number; cssWidth: number; cssHeight: number }> {
  // A string: this project's Node code is compiled without the DOM's types.
  return (await page.evaluate(`(() => {
    const canvas = [...document.querySelectorAll('#screen canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0];
    const r = canvas.getBoundingClientRect();
    return { width: canvas.width, height: canvas.height, left: r.left, top: r.top, cssWidth: r.width, cssHeight: r.height };
  })()`)) as { width: number; height: number; left: number; top: number; cssWidth: number; cssHeight: number };
}

/** Where on the page a desktop pixel is. */
async function onPage(page: Page, desktopPixel: Point): Promise<Point> {
  const box = await canvasBox(page);
  return {
    x: box.left + ((desktopPixel.x + 0.5) * box.cssWidth) / box.width,
    y: box.top + ((desktopPixel.y + 0.5) * box.cssHeight) / box.height,
  };
}

/** A desktop pixel in the tablet's units, as the guest receives it. */
const tabletUnits = (p: Point, size: { width: number; height: number }): Point => ({
  x: Math.round((p.x * ABS_MAX) / size.width),
  y: Math.round((p.y * ABS_MAX) / size.height),
});
/** Within 1.5 % of the screen: a CSS pixel of a phone's fitted screen is 2.6 desktop pixels. */
function assertNear(actual: Point, expected: Point, what: string): void {
  const slack = ABS_MAX * 0.015;
  assert.ok(
    Math.abs(actual.x - expected.x) <= slack && Math.abs(actual.y - expected.y) <= slack,
    `${what}: guest got ${JSON.stringify(actual)}, expected about ${JSON.stringify(expected)}`,
  );
}

/** Waits until the guest's pointer events since `mark` satisfy `done`. */
async function guestSaw(mark: number, done: (s: PointerStory) => boolean, what: string): Promise<PointerStory> {
  const started = Date.now();
  const story = await waitForValue(async () => pointerStory(inputEvents(bed.desktop.serial), mark), done, 30_000, what);
  console.log(`# ${what}: ${Date.now() - started} ms`);
  return story;
}

const touch = (cdp: CDPSession, type: 'touchStart' | 'touchMove' | 'touchEnd', points: Point[]) =>
  cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : points.map((p, id) => ({ ...p, id })) });

/** Fingers put down at `from`, moved in steps to `to`, lifted. */
async function swipe(cdp: CDPSession, from: Point[], to: Point[], steps = 10): Promise<void> {
  await touch(cdp, 'touchStart', from);
  for (let i = 1; i <= steps; i++) {
    await touch(
      cdp,
      'touchMove',
      from.map((f, k) => ({ x: f.x + ((to[k]!.x - f.x) * i) / steps, y: f.y + ((to[k]!.y - f.y) * i) / steps })),
    );
  }
  await touch(cdp, 'touchEnd', []);
}

const buttonsOf = (s: PointerStory, code: number) => s.buttons.filter((b) => b.code === code);

for (const protocol of ['spice', 'vnc'] as const) {
  test(`on a phone over ${protocol.toUpperCase()}, a tap clicks, a drag drags and two fingers scroll in the guest, where they were made`, async () => {
    const { page } = await openViewer(protocol === 'spice' ? bed.desktop.uuid : VNC_ONLY, PHONE);
    try {
      assert.equal(await page.$eval('#viewer', (e) => e.getAttribute('data-protocol')), protocol);
      const cdp = await page.createCDPSession();
      const size = await canvasBox(page);
      const serial = bed.desktop.serial;

      let mark = serial.contents().length;
      const tapAt = { x: 512, y: 384 };
      const p = await onPage(page, tapAt);
      await touch(cdp, 'touchStart', [p]);
      await touch(cdp, 'touchEnd', []);
      const tap = await guestSaw(mark, (s) => buttonsOf(s, BTN_LEFT).length >= 2, 'a left click in the guest');
      assert.deepEqual(
        buttonsOf(tap, BTN_LEFT).map((b) => b.down),
        [true, false],
      );
      assertNear(buttonsOf(tap, BTN_LEFT)[0]!, tabletUnits(tapAt, size), 'the tap');

      // noVNC tells a drag from a tap after 50 CSS pixels of travel (its GH_MOVE_THRESHOLD).
      mark = serial.contents().length;
      const dragFrom = { x: 200, y: 200 };
      const dragTo = { x: 800, y: 560 };
      await swipe(cdp, [await onPage(page, dragFrom)], [await onPage(page, dragTo)]);
      const drag = await guestSaw(mark, (s) => buttonsOf(s, BTN_LEFT).length >= 2, 'a left-button drag in the guest');
      const [down, up] = buttonsOf(drag, BTN_LEFT);
      assert.ok(down!.down && !up!.down);
      assertNear(down!, tabletUnits(dragFrom, size), 'the drag pressed');
      assertNear(up!, tabletUnits(dragTo, size), 'the drag released');
      const between = drag.positions.filter((q) => q.x > down!.x && q.x < up!.x);
      assert.ok(between.length >= 3, `the pointer moved with the button held (${between.length} positions between)`);

      // Fingers moving down 170 CSS pixels: the wheel turns up, one notch per 50 pixels
      // (noVNC counts from where it recognised the gesture, so it may turn one less).
      mark = serial.contents().length;
      const mid = await onPage(page, { x: 512, y: 300 });
      const fingers = [
        { x: mid.x - 30, y: mid.y },
        { x: mid.x + 30, y: mid.y },
      ];
      await swipe(
        cdp,
        fingers,
        fingers.map((f) => ({ x: f.x, y: f.y + 170 })),
      );
      const scrolledUp = await guestSaw(mark, (s) => s.wheel.length >= 2, 'wheel notches in the guest');
      assert.ok(
        scrolledUp.wheel.every((w) => w === 1),
        `fingers down turn the wheel up: ${scrolledUp.wheel.join(',')}`,
      );
      if (protocol === 'spice') assert.equal(scrolledUp.wheel.length, 3);
      assert.equal(buttonsOf(scrolledUp, BTN_LEFT).length, 0, 'a scroll clicked');

      mark = serial.contents().length;
      const low = fingers.map((f) => ({ x: f.x, y: f.y + 170 }));
      await swipe(cdp, low, fingers);
      const scrolledDown = await guestSaw(mark, (s) => s.wheel.length >= 2, 'wheel notches down in the guest');
      assert.ok(
        scrolledDown.wheel.every((w) => w === -1),
        `fingers up turn the wheel down: ${scrolledDown.wheel.join(',')}`,
      );
      await page.screenshot({ path: join(SCREENSHOTS, `touch-phone-${protocol}.png`) });
    } finally {
      await page.browserContext().close();
    }
  });
}

for (const protocol of ['spice', 'vnc'] as const) {
  test(`on a HiDPI laptop over ${protocol.toUpperCase()}, the desktop at its own size is one desktop pixel per device pixel, and the mouse lands where it points`, async () => {
    const { page } = await openViewer(protocol === 'spice' ? bed.desktop.uuid : VNC_ONLY, HIDPI_LAPTOP);
    try {
      await page.click('#fit'); // Scale to window: off
      assert.equal(await page.$eval('#fit', (e) => e.getAttribute('aria-pressed')), 'false');
      const box = await waitForValue(
        () => canvasBox(page),
        (b) => Math.abs(b.cssWidth * 2 - b.width) < 1 && Math.abs(b.cssHeight * 2 - b.height) < 1,
        10_000,
        'the canvas at one desktop pixel per device pixel',
      );
      assert.equal(box.width, 1024); // the guest's console keeps its size
      const mark = bed.desktop.serial.contents().length;
      const at = { x: 700, y: 500 };
      const p = await onPage(page, at);
      await page.mouse.click(p.x, p.y);
      const click = await guestSaw(mark, (s) => buttonsOf(s, BTN_LEFT).length >= 2, 'a click in the guest');
      assertNear(buttonsOf(click, BTN_LEFT)[0]!, tabletUnits(at, box), 'the click');
      await page.mouse.move(5, 5); // the pointer off the picture for the screenshot
      await page.screenshot({ path: join(SCREENSHOTS, `hidpi-actual-size-${protocol}.png`) });
      // The console's first lines at the screen's own pixels, to look at the text's edges.
      await page.screenshot({
        path: join(SCREENSHOTS, `hidpi-text-${protocol}.png`),
        clip: { x: box.left, y: box.top, width: 200, height: 40 },
      });
      // Back to fitted: the stylesheet's size again, within the window.
      await page.click('#fit');
      const fitted = await waitForValue(
        () => canvasBox(page),
        (b) => b.cssWidth > box.cssWidth,
        10_000,
        'the canvas fitted again',
      );
      const screenBox = await page.$eval('#screen', (e) => ({
        width: e.getBoundingClientRect().width,
        height: e.getBoundingClientRect().height,
      }));
      assert.ok(fitted.cssWidth <= screenBox.width + 1 && fitted.cssHeight <= screenBox.height + 1);
    } finally {
      await page.browserContext().close();
    }
  });
}

test('over VNC the desktop keeps its size when the window changes (the viewer asks nothing of QEMU) and is scaled to the window', async () => {
  const { page, messages } = await openViewer(VNC_ONLY, { width: 1366, height: 768 });
  try {
    await page.setViewport({ width: 900, height: 700 });
    const box = await waitForValue(
      () => canvasBox(page),
      (b) => b.cssWidth < 900,
      10_000,
      'the picture scaled to the narrower window',
    );
    assert.deepEqual([box.width, box.height], [1024, 768]);
    const screen = await page.$eval('#screen', (e) => ({
      width: e.getBoundingClientRect().width,
      height: e.getBoundingClientRect().height,
    }));
    assert.ok(box.cssWidth <= screen.width + 1 && box.cssHeight <= screen.height + 1, `scaled into the window: ${JSON.stringify(box)}`);
    // noVNC's resizeSession is off: QEMU would refuse it ("Invalid screen layout") and the clipboard suffered.
    assert.ok(!messages.some((m) => m.includes('resize request')), messages.filter((m) => m.includes('resize')).join('\n'));
    await page.screenshot({ path: join(SCREENSHOTS, 'resize-vnc-scaled.png') });
  } finally {
    await page.browserContext().close();
  }
});

test("over SPICE, the window's size in device pixels reaches the guest's QXL once the window settles; its console keeps its framebuffer, so the picture is scaled", async () => {
  // The agent carries the monitors configuration (spice-html5 sends none without one); spice-server
  // hands it to the QXL device, whose guest driver takes it as the display's preferred mode.
  const agentDesktop = await defineDesktop(bed.libvirtd.uri, { name: 'touch-desk-agent', users: ['alice'], agent: 'spice' });
  let page: Page | undefined;
  try {
    await agentDesktop.serial.waitFor('PORTHOLE-MODE:1024x768', 60_000);
    ({ page } = await openViewer(agentDesktop.uuid, { width: 1366, height: 768, deviceScaleFactor: 2 }));
    const mark = agentDesktop.serial.contents().length;
    // A window dragged narrower and narrower at a pixel ratio of 2: only where it stops is asked for.
    // Short enough that the screen area, in device pixels, stays within the 1024x768 the guest's QXL
    // driver takes as a mode (taller, it keeps 1024x768 and nothing shows it was asked).
    for (const width of [620, 580, 540, 500, 470]) await page.setViewport({ width, height: 360, deviceScaleFactor: 2 });
    const screen = await page.$eval('#screen', (e) => ({
      width: e.getBoundingClientRect().width,
      height: e.getBoundingClientRect().height,
    }));
    const wanted = `${Math.floor(screen.width) * 2}x${Math.floor(screen.height * 2)}`;
    await waitFor(
      () => agentDesktop.serial.contents().slice(mark).includes(`PORTHOLE-MODE:${wanted} `),
      30_000,
      `the guest's preferred mode ${wanted}`,
    );
    const modes = [
      ...agentDesktop.serial
        .contents()
        .slice(mark)
        .matchAll(/PORTHOLE-MODE:(\d+x\d+)/g),
    ].map((m) => m[1]);
    assert.deepEqual(modes, [wanted], 'the sizes the window passed through were asked for too');
    // The guest's console still draws into its 1024x768 framebuffer: the viewer scales it.
    const box = await canvasBox(page);
    assert.deepEqual([box.width, box.height], [1024, 768]);
    assert.ok(box.cssWidth <= screen.width + 1 && box.cssHeight <= screen.height + 1, `scaled into the window: ${JSON.stringify(box)}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'resize-spice-scaled.png') });
  } finally {
    await page?.browserContext().close();
    await agentDesktop.destroy();
  }
});
