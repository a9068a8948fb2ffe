// Notices a SPICE session that is connected but no longer shows the desktop: the server keeps
// sending drawings that spice-html5 never draws (as its JPEG bug did on slow lines), or its
// image decoders keep throwing. spice-html5 says nothing in either case, so the connector
// watches its display channel: the drawing messages that arrive, against its surfaces'
// draw counts (which spice-html5 raises for each drawing it completes).

/** The parts of spice-html5's display channel (SpiceDisplayConn) read here. */
interface DisplayChannel {
  process_channel_message(msg: { type: number }): boolean;
  /** Added by web/patches: where held and unheld messages are drawn. */
  process_display_message?(msg: { type: number }): boolean;
  surfaces?: Array<{ draw_count: number } | undefined>;
}

/** Messages spice-html5 draws: COPY_BITS, DRAW_FILL, DRAW_COPY. */
const DRAWING = new Set([104, 302, 304]);
/** Drawings that may arrive undrawn, and for how long, before the picture counts as stalled. */
const STALLED_DRAWINGS = 10;
const STALLED_MS = 3000;
/** Decoder exceptions that count as a broken decoder. */
const DECODER_ERRORS = 3;

/**
 * Watches `connection` (a SpiceMainConn; its display channel appears once the main channel has
 * opened it) and calls `broken` once with a reason a person can read. Returns a stop function.
 */
export function watchSpiceHealth(connection: object, broken: (reason: string) => void): () => void {
  let display: DisplayChannel | undefined;
  let received = 0;
  let receivedAtProgress = 0;
  let drawn = 0;
  let progressAt = performance.now();
  let errors = 0;
  let reported = false;
  const report = (reason: string) => {
    if (reported) return;
    reported = true;
    stop();
    broken(reason);
  };

  const attach = (d: DisplayChannel) => {
    display = d;
    const receive = d.process_channel_message;
    d.process_channel_message = function (msg) {
      if (DRAWING.has(msg.type)) received++;
      return receive.call(this, msg);
    };
    // Decoders (QUIC, LZ, bitmaps) run synchronously inside message handling: their exceptions
    // are counted here and go on as before.
    const key = d.process_display_message ? 'process_display_message' : 'process_channel_message';
    const handle = d[key]!;
    d[key] = function (msg) {
      try {
        return handle.call(this, msg);
      } catch (error) {
        if (++errors >= DECODER_ERRORS) queueMicrotask(() => report(`its picture decoder failed (${(error as Error).message})`));
        throw error;
      }
    };
  };

  const check = () => {
    const d = (connection as { display?: DisplayChannel }).display;
    if (!d) return;
    if (d !== display) attach(d);
    const now = performance.now();
    const total = (d.surfaces ?? []).reduce((sum, s) => sum + (s?.draw_count ?? 0), 0);
    if (total !== drawn) {
      drawn = total;
      receivedAtProgress = received;
      progressAt = now;
    } else if (received - receivedAtProgress >= STALLED_DRAWINGS && now - progressAt >= STALLED_MS) {
      report(`the picture stopped updating (${received - receivedAtProgress} updates from the desktop could not be shown)`);
    } else if (received === receivedAtProgress) {
      progressAt = now; // nothing to draw is not a stall
    }
  };
  const timer = setInterval(check, 500);
  const stop = () => clearInterval(timer);
  check();
  return stop;
}
