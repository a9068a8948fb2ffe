// Headless Chromium from Debian's package through puppeteer-core (which cannot download its own
// browser here), with a fresh profile per launch that is removed on close.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `extraArgs`: more command-line flags, e.g. --host-rules to send the gateway's traffic through a slow line. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'porthole-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
      // Tests serve a self-signed certificate made at test time.
      '--ignore-certificate-errors',
      '--window-size=1280,900',
      ...extraArgs,
    ],
    defaultViewport: { width: 1280, height: 900 },
  });
  // The profile goes once the browser process has exited, not merely disconnected.
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  };
  return browser;
}
