// What the remote screen shows, read from the page: the lit pixels of the desktop's canvas (the
// largest under #screen). Text on the test guest's console is light on black, so typed text adds
// lit pixels; a picture that stopped updating adds none. And a coarse grid of it, to compare two
// viewers' pictures (a helpdesk watcher's and the user's).
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

/** A coarse luminance grid (32 x 24 cells) of the remote screen's canvas, to compare two viewers' pictures. */
export async function screenGrid(page: Page): Promise<number[]> {
  return page.evaluate(`(() => {
    const c = [...document.querySelectorAll('#screen canvas')].find((x) => x.width > 100);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const cols = 32, rows = 24, out = [];
    for (let gy = 0; gy < rows; gy++) for (let gx = 0; gx < cols; gx++) {
      let sum = 0, n = 0;
      for (let y = Math.floor(gy * c.height / rows); y < Math.floor((gy + 1) * c.height / rows); y += 2)
        for (let x = Math.floor(gx * c.width / cols); x < Math.floor((gx + 1) * c.width / cols); x += 2) {
          const i = (y * c.width + x) * 4; sum += d[i] * 0.3 + d[i + 1] * 0.59 + d[i + 2] * 0.11; n++;
        }
      out.push(sum / n);
    }
    return out;
  })()`) as Promise<number[]>;
}

/** How many cells of two grids differ by more than `tolerance` in luminance. */
export function cellsDiffering(a: number[], b: number[], tolerance = 8): number {
  return a.filter((v, i) => Math.abs(v - (b[i] ?? 0)) > tolerance).length;
}
