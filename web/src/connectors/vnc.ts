// VNC through noVNC. No credentials: the proxy authenticated to the display and offers None.
import RFB from '@novnc/novnc';
import type { Attempt } from '../api.js';
import { lastClose } from '../close-reasons.js';
import { firstFrame } from '../first-frame.js';
import { failure, type Connector, type RemoteSession } from './connector.js';

export class VncConnector implements Connector {
  readonly protocol = 'vnc';
  readonly label = 'VNC';

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    return new Promise((resolve, reject) => {
      const area = document.createElement('div');
      area.className = 'screen-vnc';
      screen.append(area);
      let established = false;
      let closeListener: ((reason: string) => void) | undefined;
      const rfb = new RFB(area, attempt.url, { shared: true });
      rfb.scaleViewport = true;
      rfb.background = '#111';
      const teardown = () => { try { rfb.disconnect(); } catch { /* closed */ } area.remove(); };
      const fail = (fallback: string) => setTimeout(() => {
        const error = failure(this.label, lastClose(attempt.url)?.reason, fallback);
        if (!established) { teardown(); reject(error); } else if (closeListener) { const l = closeListener; closeListener = undefined; area.remove(); l(error.message); }
      }, 50);
      rfb.addEventListener('disconnect', () => fail('the connection closed'));
      rfb.addEventListener('securityfailure', () => fail('the display refused the connection'));
      rfb.addEventListener('credentialsrequired', () => fail('the display asked the browser for a password, which it must never do'));
      signal.addEventListener('abort', () => { teardown(); reject(signal.reason); }, { once: true });
      firstFrame(area, signal).then(() => {
        established = true;
        resolve({
          protocol: this.protocol,
          focus: () => rfb.focus(),
          sendCtrlAltDel: () => rfb.sendCtrlAltDel(),
          scaleToWindow: (fit) => { rfb.scaleViewport = fit; },
          disconnect: () => { closeListener = undefined; teardown(); },
          onClose: (l) => { closeListener = l; },
        });
      }, () => {});
    });
  }
}
