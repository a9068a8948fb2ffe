// VNC through noVNC. No credentials: the proxy authenticated to the display and offers None.
import RFB from '@novnc/novnc';
import type { Attempt } from '../api.js';
import { vnc } from '../../../proxy/vnc/descriptor.js';
import { runAttempt } from './attempt.js';
import type { Connector, RemoteSession } from './connector.js';

export class VncConnector implements Connector {
  readonly protocol = vnc.id;
  readonly label = vnc.label;

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    return runAttempt(this.protocol, this.label, attempt, screen, signal, 'screen-vnc', (area, fail) => {
      const rfb = new RFB(area, attempt.url, { shared: true });
      rfb.scaleViewport = true;
      rfb.background = '#111';
      rfb.addEventListener('disconnect', () => fail('the connection closed'));
      rfb.addEventListener('securityfailure', () => fail('the display refused the connection'));
      rfb.addEventListener('credentialsrequired', () => fail('the display asked the browser for a password, which it must never do'));
      return {
        stop: () => rfb.disconnect(),
        focus: () => rfb.focus(),
        sendCtrlAltDel: () => rfb.sendCtrlAltDel(),
        // QEMU's extended key events carry the key's scancode; the keysym is for other servers.
        sendKey: (code, down, { keysym }) => rfb.sendKey(keysym, code, down),
        scaleToWindow: (fit) => {
          rfb.scaleViewport = fit;
        },
      };
    });
  }
}
