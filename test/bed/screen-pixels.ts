// What the remote screen shows, read from the page: the lit pixels of the desktop's canvas (the
// largest under #screen). Text on the test guest's console is light on black, so typed text adds
// lit pixels; a picture that stopped updating adds none.
import type { Page } from 'puppeteer-core';

/**
 * An expression evaluated in the page (text, as this project's Node code has no DOM types).
 * "Lit" is brighter than mid grey, which JPEG's ringing around glyphs stays below. The last two
 * pixel rows of each 16-pixel text cell are left out: the console's blinking underline cursor
 * is drawn there, and would make the count flicker.
 */
export const LIT_PIXELS = `(() => {
  const canvas = [...document.querySelectorAll('#screen canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0];
  const context = canvas && canvas.width > 0 && canvas.height > 0 ? canvas.getContext('2d') : null;
  if (!context) return 0;
  const { width, height } = canvas;
  const data = context.getImageData(0, 0, width, height).data;
  let lit = 0;
  for (let y = 0; y < height; y++) {
    if (y % 16 >= 14) continue;
    for (let i = y * width * 4, end = i + width * 4; i < end; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 384) lit++;
  }
  return lit;
})()`;

export async function litPixels(page: Page): Promise<number> {
  return (await page.evaluate(LIT_PIXELS)) as number;
}

/** The lit pixels once the picture has stopped changing (the same count for half a second). */
export async function settledLitPixels(page: Page, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await litPixels(page);
  let sameSince = Date.now();
  while (Date.now() - sameSince < 500) {
    if (Date.now() > deadline) throw new Error(`the picture did not settle within ${timeoutMs} ms (${last} lit pixels)`);
    await new Promise((r) => setTimeout(r, 50));
    const now = await litPixels(page);
    if (now !== last) {
      last = now;
      sameSince = Date.now();
    }
  }
  return last;
}
