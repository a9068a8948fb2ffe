// SPICE through spice-html5. The password it sends is empty: the proxy replaces the ticket with
// the real one, so the browser never knows it.
import { SpiceMainConn, sendCtrlAltDel } from '@spice-project/spice-html5';
import type { Attempt } from '../api.js';
import { runAttempt } from './attempt.js';
import type { Connector, RemoteSession } from './connector.js';

export class SpiceConnector implements Connector {
  readonly protocol = 'spice';
  readonly label = 'SPICE';

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    return runAttempt(this.protocol, this.label, attempt, screen, signal, 'screen-spice', (area, fail) => {
      // spice-html5 reports the close of any of its channels here.
      const connection = new SpiceMainConn({ uri: attempt.url, password: '', screen_id: area.id, onerror: (e) => fail(e.message || 'the connection failed') });
      return {
        stop: () => connection.stop(),
        focus: () => area.querySelector('canvas')?.focus(),
        sendCtrlAltDel: () => sendCtrlAltDel(connection),
        scaleToWindow: () => {}, // the page's CSS (.screen.fit) scales the SPICE canvas
      };
    });
  }
}
