// QEMU 7.2's spice-server (0.15) crashes its whole guest ("SPICE Worker segfault at 0") when a
// display channel is closed before its worker has taken in SPICE_MSGC_DISPLAY_INIT: closed
// without one, or closed right after it (measured: at once, crash; 100 ms later, none). Real
// clients send it first and stay; a hostile or broken one need not. The proxy watches each
// display channel for it and, when the connection ends, sends one itself if the client did not,
// and holds the display's side open a moment after it, so that no browser can crash a desktop
// through Porthole.

import type { Farewell } from '../relay.js';

const MSGC_DISPLAY_INIT = 101;
const MINI_HEADER = 6;
/** How long the display's side stays open after DISPLAY_INIT (ten times what was needed here). */
export const DISPLAY_INIT_LINGER_MS = 1000;

/** SPICE_MSGC_DISPLAY_INIT with spice-html5's values: pixmap cache 1 of 10 MiB, no GLZ dictionary. */
export function displayInitMessage(): Buffer {
  const message = Buffer.alloc(MINI_HEADER + 14);
  message.writeUInt16LE(MSGC_DISPLAY_INIT, 0);
  message.writeUInt32LE(14, 2);
  message[6] = 1; // pixmap_cache_id
  message.writeBigInt64LE(10n * 1024n * 1024n, 7); // pixmap_cache_size
  message[15] = 0; // glz_dictionary_id
  message.writeInt32LE(0, 16); // glz_dictionary_window_size
  return message;
}

/**
 * Follows a display channel's client-to-server stream (mini headers) until DISPLAY_INIT has
 * passed; costs nothing after that. Reads headers only, skipping bodies by count.
 */
export class DisplayInitWatch {
  #seen = false;
  #seenAt = 0;
  #header = Buffer.alloc(0);
  #skip = 0;

  get seen(): boolean {
    return this.#seen;
  }

  observe(chunk: Buffer): void {
    let offset = 0;
    while (!this.#seen && offset < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= n;
        offset += n;
        continue;
      }
      const need = MINI_HEADER - this.#header.length;
      this.#header = Buffer.concat([this.#header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.#header.length < MINI_HEADER) return;
      if (this.#header.readUInt16LE(0) === MSGC_DISPLAY_INIT) {
        this.#seen = true;
        this.#seenAt = this.now();
      }
      this.#skip = this.#header.readUInt32LE(2);
      this.#header = Buffer.alloc(0);
    }
  }

  constructor(readonly now: () => number = Date.now) {}

  /** What the display must still receive, and how long to wait, before the proxy closes it. */
  farewell(): Farewell | undefined {
    if (!this.#seen) return { send: displayInitMessage(), lingerMs: DISPLAY_INIT_LINGER_MS };
    const lingerMs = this.#seenAt + DISPLAY_INIT_LINGER_MS - this.now();
    return lingerMs > 0 ? { lingerMs } : undefined;
  }
}
