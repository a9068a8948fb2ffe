// Typing into a remote desktop as a person does. Both noVNC and spice-html5 send key codes,
// not characters, and puppeteer's type('M') sends KeyM without Shift, so shifted characters
// are typed with Shift held explicitly.
import type { Page } from 'puppeteer-core';

const SHIFTED: Record<string, string> = { '>': 'Period', '<': 'Comma', '|': 'Backslash', _: 'Minus', ':': 'Semicolon' };

export async function typeIntoDesktop(page: Page, text: string): Promise<void> {
  for (const ch of text) {
    const shifted = SHIFTED[ch] ?? (/[A-Z]/.test(ch) ? `Key${ch}` : undefined);
    if (shifted) {
      await page.keyboard.down('Shift');
      await page.keyboard.press(shifted as never);
      await page.keyboard.up('Shift');
    } else if (ch === '\n') {
      await page.keyboard.press('Enter');
    } else {
      await page.keyboard.type(ch);
    }
    await new Promise((r) => setTimeout(r, 15)); // TCG guests are slow readers
  }
}
