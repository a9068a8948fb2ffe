// What a person at the browser sees, measured in Chromium against one real guest (the test bed's
// TCG desktop under libvirtd): the time from a key press to its echo on the remote screen
// (p50/p99), and the frames per second the page shows while the guest's console scrolls, for
// Porthole over SPICE and over VNC, and for noVNC through websockify (the peer), on a fast line
// (loopback) and on a home line (a delaying, rate-limiting relay: Chromium's own network
// emulation does not slow WebSockets). The paths take turns, in one run, on the same guest.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { createAuthority, issueHostCertificate } from '../certs/authority.js';
import { launchChromium } from '../test/bed/chromium.js';
import { startDesktopBed, type DesktopBed } from '../test/bed/desktop-bed.js';
import { typeIntoDesktop } from '../test/bed/keyboard.js';
import { openDesktop, signInPage } from '../test/bed/person.js';
import { freePort } from '../test/bed/ports.js';
import { waitForPort } from '../test/bed/redis.js';
import { LIT_PIXELS, settledLitPixels } from '../test/bed/screen-pixels.js';
import { startSlowLine, type SlowLine } from '../test/bed/slow-line.js';
import type { BenchResult } from './harness.js';
import { percentile } from './percentile.js';

type BrowserPath = 'spice' | 'vnc' | 'websockify';
const LABEL: Record<BrowserPath, string> = {
  spice: 'Porthole over SPICE',
  vnc: 'Porthole over VNC',
  websockify: 'noVNC through websockify',
};
/** The test guest's VNC-only twin, on a second hypervisor (the test driver): Porthole's viewer then opens VNC. */
const VNC_TWIN = 'be000000-0000-4000-8000-0000000000b1';
/** A home line, as the viewer issue names it: 1 Mbit/s, 150 ms round trip. */
const HOME_LINE = { bitsPerSecond: 1_000_000, delayMs: 75 };

/**
 * Installed in the page before the key is pressed (a key sent over CDP may overtake an
 * evaluation sent before it): `window.__echo` resolves with the ms from the next key press (its
 * keydown event, as the page saw it) to the first animation frame whose remote screen differs
 * from `before`, or -1 after 10 s.
 */
const KEY_ECHO = `(before) => { window.__echo = new Promise((resolve) => {
  const lit = () => ${LIT_PIXELS};
  let pressedAt;
  addEventListener('keydown', (e) => { pressedAt ??= performance.now(); }, { capture: true, once: true });
  const started = performance.now();
  const tick = () => {
    if (pressedAt !== undefined && lit() !== before) return resolve(performance.now() - pressedAt);
    if (performance.now() - started > 10000) return resolve(-1);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}); }`;

/** Installed in the page: counts the animation frames in `ms` whose remote screen (a 64x48 thumbnail) changed. */
const FRAMES = `(ms) => new Promise((resolve) => {
  const thumb = document.createElement('canvas');
  thumb.width = 64; thumb.height = 48;
  const context = thumb.getContext('2d', { willReadFrequently: true });
  const screen = () => [...document.querySelectorAll('#screen canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0];
  let last = '', changed = 0;
  const end = performance.now() + ms;
  const tick = () => {
    const canvas = screen();
    if (canvas && canvas.width > 0) {
      context.drawImage(canvas, 0, 0, 64, 48);
      const data = context.getImageData(0, 0, 64, 48).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum = (sum * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) >>> 0;
      const signature = String(sum);
      if (signature !== last) changed++;
      last = signature;
    }
    if (performance.now() < end) requestAnimationFrame(tick); else resolve(changed / (ms / 1000));
  };
  requestAnimationFrame(tick);
})`;

/** A page for noVNC alone, as websockify users serve it (`websockify --web`): its RFB on the whole window. */
function peerPage(port: number, password: string): string {
  return `<!doctype html><meta charset="utf-8"><title>noVNC</title>
<style>html,body{margin:0;height:100%;background:#000}#screen{width:100vw;height:100vh}</style>
<div id="screen"></div>
<script type="module">
import RFB from './core/rfb.js';
const rfb = new RFB(document.getElementById('screen'), 'wss://localhost:${port}/', { credentials: { password: ${JSON.stringify(password)} } });
rfb.scaleViewport = true;
rfb.addEventListener('connect', () => { document.body.dataset.state = 'connected'; rfb.focus(); });
</script>`;
}

interface Websockify {
  port: number;
  close(): Promise<void>;
}

/** Debian's websockify serving noVNC's own files and relaying to the guest's VNC display. */
async function startWebsockify(vncPort: number, password: string): Promise<Websockify> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-novnc-'));
  // The package exports only core/rfb.js: its folder is two up from there.
  const novnc = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
  symlinkSync(join(novnc, 'core'), join(dir, 'core'));
  symlinkSync(join(novnc, 'vendor'), join(dir, 'vendor'));
  const authority = await createAuthority('Porthole bench websockify CA');
  const host = await issueHostCertificate(authority, ['localhost', '127.0.0.1']);
  writeFileSync(join(dir, 'cert.pem'), host.cert);
  writeFileSync(join(dir, 'key.pem'), host.key, { mode: 0o600 });
  const port = await freePort();
  writeFileSync(join(dir, 'index.html'), peerPage(port, password));
  const child: ChildProcess = spawn(
    'websockify',
    ['--web', dir, '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), `127.0.0.1:${port}`, `127.0.0.1:${vncPort}`],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', () => reject(new Error('websockify not found: apt-get install websockify')));
    child.once('exit', (code) => reject(new Error(`websockify exited with ${code}`)));
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([failed, waitForPort(port, 15_000)]);
  } catch (error) {
    await close();
    throw error;
  }
  return { port, close };
}

/**
 * Key presses one at a time, each timed to its echo: letters, each one shown (a Backspace on an
 * empty line would show nothing, and one lost key would then time out every later one); the
 * line is cleared afterwards.
 */
async function keyEchoes(page: Page, count: number): Promise<number[]> {
  const canvas = await page.waitForSelector('#screen canvas');
  await canvas!.click();
  const echoes: number[] = [];
  for (let i = 0; i < count; i++) {
    const before = await settledLitPixels(page, 30_000);
    await page.evaluate(`(${KEY_ECHO})(${before})`);
    await page.keyboard.press(`Key${String.fromCharCode(65 + (i % 26))}` as 'KeyA');
    const ms = (await page.evaluate('window.__echo')) as number;
    if (ms < 0) throw new Error(`key ${i} never showed on the screen within 10 s`);
    echoes.push(ms);
  }
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyU'); // the shell's "erase the line"
  await page.keyboard.up('Control');
  return echoes;
}

/** Frames per second while the guest's console scrolls as fast as it can. */
async function scrollingFps(page: Page, ms: number): Promise<number> {
  await typeIntoDesktop(page, 'while :; do echo $RANDOM $RANDOM $RANDOM; done\n');
  try {
    return (await page.evaluate(`(${FRAMES})(${ms})`)) as number;
  } finally {
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyC');
    await page.keyboard.up('Control');
    await typeIntoDesktop(page, 'clear\n');
  }
}

/** Opens the guest on `path` in a fresh tab of `browser`, at a laptop's size. */
async function open(browser: Browser, bed: DesktopBed, path: BrowserPath, websockify: Websockify): Promise<Page> {
  if (path === 'websockify') {
    const page = await (await browser.createBrowserContext()).newPage();
    await page.setViewport({ width: 1366, height: 768 });
    await page.goto(`https://localhost:${websockify.port}/index.html`);
    await page.waitForSelector('body[data-state="connected"]', { timeout: 60_000 });
    return page;
  }
  const page = await signInPage(browser, bed.gw.origin, 'alice', 'alice-bench-password');
  await page.setViewport({ width: 1366, height: 768 });
  const opened = await openDesktop(page, path === 'spice' ? bed.desktop.uuid : VNC_TWIN);
  if (opened.state !== 'connected' || opened.protocol !== path)
    throw new Error(`${LABEL[path]}: the viewer ended ${opened.state} over ${opened.protocol}`);
  return page;
}

/**
 * @param smoke a quick run that only proves the measurement works (a few keys, the fast line)
 */
export async function benchBrowser(smoke = false): Promise<BenchResult[]> {
  const keys = smoke ? 4 : 40;
  const fpsMs = smoke ? 2000 : 8000;
  const rounds = smoke ? 1 : 2;
  const bed = await startDesktopBed({
    desktop: { name: 'bench-browser-desk', users: ['alice'] },
    spare: (running) => [
      { name: 'bench-vnc-twin', uuid: VNC_TWIN, users: ['alice'], vnc: { port: running.vncPort, password: running.vncPassword } },
    ],
    users: [{ name: 'alice', password: 'alice-bench-password', role: 'user' }],
  });
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const websockify = await startWebsockify(bed.desktop.vncPort, bed.desktop.vncPassword);
    opened.push(websockify);
    const lines: Array<{ name: string; browser: Browser }> = [{ name: 'fast line (loopback)', browser: bed.browser }];
    if (!smoke) {
      const toGateway: SlowLine = await startSlowLine({ ...HOME_LINE, targetPort: bed.gw.port });
      const toPeer: SlowLine = await startSlowLine({ ...HOME_LINE, targetPort: websockify.port });
      opened.push(toGateway, toPeer);
      const browser = await launchChromium([`--host-rules=${toGateway.hostRule}, ${toPeer.hostRule}`]);
      opened.push(browser);
      lines.push({ name: 'home line (1 Mbit/s, 150 ms round trip)', browser });
    }
    const results: BenchResult[] = [];
    for (const line of lines) {
      const echoes: Record<BrowserPath, number[]> = { spice: [], vnc: [], websockify: [] };
      const fps: Record<BrowserPath, number[]> = { spice: [], vnc: [], websockify: [] };
      const paths: BrowserPath[] = ['spice', 'vnc', 'websockify'];
      for (let round = 0; round < rounds; round++) {
        for (const path of paths.map((_, i) => paths[(i + round) % paths.length]!)) {
          const page = await open(line.browser, bed, path, websockify);
          try {
            echoes[path].push(...(await keyEchoes(page, keys)));
            fps[path].push(await scrollingFps(page, fpsMs));
          } finally {
            await page.browserContext().close();
          }
        }
      }
      for (const path of paths) {
        results.push(
          { name: `browser, ${line.name}: ${LABEL[path]}, key to screen p50`, value: percentile(echoes[path], 50), unit: 'ms' },
          { name: `browser, ${line.name}: ${LABEL[path]}, key to screen p99`, value: percentile(echoes[path], 99), unit: 'ms' },
          {
            name: `browser, ${line.name}: ${LABEL[path]}, frames/s on a scrolling console`,
            value: percentile(fps[path], 50),
            unit: 'frames/s',
          },
        );
      }
    }
    return results;
  } finally {
    for (const o of opened.reverse()) await o.close().catch(() => {});
    await bed.close();
  }
}

// `node dist/bench/browser.js [--smoke]` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchBrowser(process.argv.includes('--smoke')))
    console.log(`${r.name.padEnd(96)} ${r.value.toFixed(1).padStart(8)} ${r.unit}`);
}
