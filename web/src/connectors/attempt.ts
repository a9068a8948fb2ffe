// The life of one protocol attempt, the same for every connector: its screen area, failure
// before the first frame (rejecting with the proxy's close reason when there is one), success at
// the first frame once the client takes input, a close after it (reported once), and teardown on abort or disconnect. A
// connector only starts its client and says how to stop it.
import type { Attempt } from '../api.js';
import { lastClose } from '../close-reasons.js';
import { firstFrame } from '../first-frame.js';
import type { SessionEnd } from '../session-end.js';
import type { RemoteClipboard, RemoteSession, RemoteSound } from './connector.js';

/** What a connector's client offers once started. */
export interface StartedClient {
  /** Stops the client; called once, on abort, failure, close or disconnect. */
  stop(): void;
  focus(): void;
  sendCtrlAltDel(): void;
  sendKey?(code: string, down: boolean, options: { shift: boolean; keysym: number }): void;
  scaleToWindow(fit: boolean): void;
  followWindow?(): void;
  clipboard?: RemoteClipboard;
  sound?: RemoteSound;
  /**
   * Whether the client takes keys and mouse yet, when that can come after the first picture
   * (SPICE's inputs channel: on a slow line it is ready up to a second after the picture, and
   * keys typed before that are lost). The attempt counts as connected once this is true too.
   */
  takesInput?(): boolean;
  /**
   * Starts watching a connected session for a picture that stopped updating or a decoder that
   * keeps failing; `broken` is called once, with why. Stopped by stop().
   */
  watchHealth?(broken: (reason: string) => void): void;
}

/**
 * Runs one attempt in a new element of `screen` with class `areaClass`.
 * @param start starts the client in `area`; it calls `fail(fallback)` when the connection fails
 *   or closes, with a reason to use when the proxy gave none, or `fail(reason, true)` when the
 *   client knows better than the proxy (the desktop refused a password inside the encrypted session)
 */
export function runAttempt(
  protocol: string,
  label: string,
  attempt: Attempt,
  screen: HTMLElement,
  signal: AbortSignal,
  areaClass: string,
  start: (area: HTMLElement, fail: (fallback: string, ownReason?: boolean) => void) => StartedClient,
): Promise<RemoteSession> {
  return new Promise((resolve, reject) => {
    const area = document.createElement('div');
    area.id = `${areaClass}-${Math.random().toString(36).slice(2)}`;
    area.className = areaClass;
    screen.append(area);
    let client: StartedClient | undefined;
    let established = false;
    let ended = false;
    let closeListener: ((end: SessionEnd) => void) | undefined;
    const teardown = () => {
      if (ended) return;
      ended = true;
      try {
        client?.stop();
      } catch {
        /* already closed */
      }
      area.remove();
    };
    const startedAt = performance.now();
    /** The proxy's close of this attempt's socket (RDP's URL is the same for every attempt: only a newer close counts). */
    const proxyClose = () => {
      const close = lastClose(attempt.url);
      return close && close.at >= startedAt ? close : undefined;
    };
    /** Why it failed: the proxy's close reason when it gave one, else the client's. */
    const reason = (fallback: string, ownReason = false) => {
      const proxyReason = ownReason ? undefined : proxyClose()?.reason;
      return new Error(proxyReason && proxyReason.trim() !== '' ? proxyReason : `${label}: ${fallback}`);
    };
    const fail = (fallback: string, ownReason = false) => {
      // The WebSocket's close event (with the proxy's reason) may come after the client gave up:
      // when the client closes first, only once the closing handshake is done (a round trip, long
      // on a slow line or a busy machine). It is waited for, up to a second.
      const waitedFrom = performance.now();
      const settle = () => {
        if (ended) return;
        if (!ownReason && !proxyClose() && performance.now() - waitedFrom < 1000) {
          setTimeout(settle, 25);
          return;
        }
        const error = reason(fallback, ownReason);
        const code = ownReason ? undefined : proxyClose()?.code;
        const listener = established ? closeListener : undefined;
        teardown();
        if (!established) reject(error);
        else listener?.({ ...(code === undefined ? {} : { code }), reason: error.message });
      };
      setTimeout(settle, 25);
    };
    signal.addEventListener(
      'abort',
      () => {
        teardown();
        reject(signal.reason);
      },
      { once: true },
    );
    try {
      client = start(area, fail);
    } catch (e) {
      teardown();
      reject(reason((e as Error).message));
      return;
    }
    firstFrame(area, signal)
      .then(() => inputReady(client!, signal))
      .then(
        () => {
          established = true;
          const c = client!;
          resolve({
            protocol,
            focus: () => c.focus(),
            sendCtrlAltDel: () => c.sendCtrlAltDel(),
            ...(c.sendKey ? { sendKey: c.sendKey.bind(c) } : {}),
            scaleToWindow: (fit) => c.scaleToWindow(fit),
            ...(c.followWindow ? { followWindow: c.followWindow.bind(c) } : {}),
            ...(c.clipboard ? { clipboard: c.clipboard } : {}),
            ...(c.sound ? { sound: c.sound } : {}),
            disconnect: () => {
              closeListener = undefined;
              teardown();
            },
            onClose: (l) => {
              closeListener = l;
            },
            onBroken: (l) =>
              c.watchHealth?.((why) => {
                if (!ended) l(why);
              }),
          });
        },
        () => {},
      );
  });
}

/** Resolves when `client` takes input (checked every frame); rejects when aborted. */
function inputReady(client: StartedClient, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (signal.aborted) return reject(signal.reason);
      if (!client.takesInput || client.takesInput()) resolve();
      else requestAnimationFrame(check);
    };
    check();
  });
}
