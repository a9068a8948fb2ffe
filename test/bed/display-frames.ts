// The bytes a page's SPICE WebSockets received, from Chromium's DevTools protocol, read as SPICE
// display channels: which image types the server sent (spice-display-census.ts).
import type { Page } from 'puppeteer-core';
import { displayCensus } from './spice-display-census.js';

export interface DisplayChannels {
  /** Image types in DrawCopy messages, over all SPICE channels the page opened. */
  images(): Map<string, number>;
}

export async function watchDisplayChannels(page: Page): Promise<DisplayChannels> {
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  const received = new Map<string, Buffer[]>();
  cdp.on('Network.webSocketCreated', (e) => {
    if (e.url.includes('/ws/spice')) received.set(e.requestId, []);
  });
  cdp.on('Network.webSocketFrameReceived', (e) => {
    // Binary frames come base64-encoded; SPICE sends only binary ones.
    if (e.response.opcode === 2) received.get(e.requestId)?.push(Buffer.from(e.response.payloadData, 'base64'));
  });
  return {
    images() {
      const total = new Map<string, number>();
      for (const frames of received.values()) {
        for (const [name, n] of displayCensus(Buffer.concat(frames)).images) total.set(name, (total.get(name) ?? 0) + n);
      }
      return total;
    },
  };
}
