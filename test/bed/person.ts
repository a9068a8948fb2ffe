// A person at a browser: their own browser context (own cookies), signing in, opening a desktop,
// typing into it, as the end-to-end tests need them.
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'puppeteer-core';
import type { Attempt } from './gateway.js';
import { recordSecret, recordToken } from './secret-record.js';
import { typeIntoDesktop } from './keyboard.js';
import type { SerialLog } from './serial-log.js';

export interface ViewerState {
  state: string;
  protocol: string;
  fallbacks: Array<{ protocol: string; reason: string }>;
  openedAt: number;
  firstFrameAt: number;
}

/** A new browser context, signed in through the sign-in page. */
export async function signInPage(browser: Browser, origin: string, user: string, password: string, screenshot?: string): Promise<Page> {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.goto(origin);
  await page.waitForSelector('#signin:not([hidden])');
  if (screenshot) await page.screenshot({ path: screenshot });
  await page.type('#username', user);
  await page.type('#password', password);
  await page.click('#signin-submit');
  await page.waitForSelector('#desktops:not([hidden])');
  recordSecret('user password', password);
  for (const c of await page.browserContext().cookies()) recordSecret(`browser cookie ${c.name}`, c.value);
  return page;
}

/** Waits until the viewer is connected (or failed) and returns its state. */
export async function viewerState(page: Page): Promise<ViewerState> {
  await page.waitForSelector('#viewer[data-state="connected"], #viewer[data-state="failed"]', { timeout: 30_000 });
  return (await page.evaluate('window.portholeViewer')) as ViewerState;
}

/** Clicks Open on a desktop in the list; returns the viewer's state and the attempts it was given. */
export async function openDesktop(page: Page, id: string): Promise<ViewerState & { attempts: Attempt[] }> {
  const connectResponse = page.waitForResponse((r) => r.url().includes('/connect') && r.request().method() === 'POST');
  await page.click(`.desktop[data-desktop-id="${id}"] .open`);
  const attempts = ((await (await connectResponse).json()) as { attempts: Attempt[] }).attempts;
  for (const a of attempts) recordToken(a.token);
  return { ...(await viewerState(page)), attempts };
}

/** Clicks into the remote screen and types a command that writes a fresh word to the guest's serial port. */
export async function typeWord(page: Page, prefix = 'porthole'): Promise<string> {
  const word = `${prefix}${randomBytes(4).toString('hex')}`;
  const canvas = await page.waitForSelector('#screen canvas');
  await canvas!.click();
  await typeIntoDesktop(page, `echo ${word} > /dev/ttyS0\n`);
  return word;
}

/** Types a word and waits until the guest received it. */
export async function typeAndExpect(page: Page, serial: SerialLog): Promise<string> {
  const word = await typeWord(page);
  await serial.waitFor(word, 15_000);
  return word;
}

/** Answers the viewer's RDP sign-in (the desktop's own account) and returns when it was submitted. */
export async function signInToDesktop(page: Page, username: string, password: string): Promise<number> {
  await page.waitForSelector('#rdp-sign-in:not([hidden])', { timeout: 30_000 });
  await page.type('#rdp-sign-in input[name="username"]', username);
  await page.type('#rdp-sign-in input[name="password"]', password);
  const submittedAt = (await page.evaluate('performance.now()')) as number;
  await page.click('#rdp-sign-in button[type="submit"]');
  return submittedAt;
}

/** Clicks into an RDP screen (IronRDP draws inside its web component's shadow root) and types a fresh word. */
export async function typeWordOverRdp(page: Page, prefix = 'porthole'): Promise<string> {
  const word = `${prefix}${randomBytes(4).toString('hex')}`;
  const canvas = await page.waitForSelector('pierce/canvas');
  await canvas!.click();
  await typeIntoDesktop(page, word);
  return word;
}
