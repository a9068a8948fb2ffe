// SPICE through spice-html5. The password it sends is empty: the proxy replaces the ticket with
// the real one, so the browser never knows it.
import { SpiceMainConn, sendCtrlAltDel } from '@spice-project/spice-html5';
import type { Attempt } from '../api.js';
import { lastClose } from '../close-reasons.js';
import { firstFrame } from '../first-frame.js';
import { failure, type Connector, type RemoteSession } from './connector.js';

export class SpiceConnector implements Connector {
  readonly protocol = 'spice';
  readonly label = 'SPICE';

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    return new Promise((resolve, reject) => {
      const area = document.createElement('div');
      area.id = `spice-area-${Math.random().toString(36).slice(2)}`;
      area.className = 'screen-spice';
      screen.append(area);
      let established = false;
      let closeListener: ((reason: string) => void) | undefined;
      let connection: SpiceMainConn | undefined;
      const reasonNow = (fallback: string) => failure(this.label, lastClose(attempt.url)?.reason, fallback);
      const teardown = () => {
        try { connection?.stop(); } catch { /* already closed */ }
        area.remove();
      };
      const onerror = (e: Error) => {
        // spice-html5 reports the close of any channel; the proxy's close reason, if any, says why.
        setTimeout(() => {
          const error = reasonNow(e.message || 'the connection failed');
          if (!established) { teardown(); reject(error); } else if (closeListener) { const l = closeListener; closeListener = undefined; l(error.message); }
        }, 50);
      };
      signal.addEventListener('abort', () => { teardown(); reject(signal.reason); }, { once: true });
      try {
        connection = new SpiceMainConn({ uri: attempt.url, password: '', screen_id: area.id, onerror });
      } catch (e) {
        teardown();
        reject(reasonNow((e as Error).message));
        return;
      }
      firstFrame(area, signal).then(() => {
        established = true;
        const session: RemoteSession = {
          protocol: this.protocol,
          focus: () => area.querySelector('canvas')?.focus(),
          sendCtrlAltDel: () => sendCtrlAltDel(connection!),
          scaleToWindow: () => {}, // the page's CSS (.screen.fit) scales the SPICE canvas
          disconnect: () => { closeListener = undefined; teardown(); },
          onClose: (l) => { closeListener = l; },
        };
        resolve(session);
      }, () => {});
    });
  }
}
