// VNC through noVNC. No credentials: the proxy authenticated to the display and offers None.
import RFB from '@novnc/novnc';
import type { Attempt } from '../api.js';
import { vnc } from '../../../proxy/vnc/descriptor.js';
import { tooLargeReason, utf8Length, type ClipboardEvent } from '../clipboard-text.js';
import { devicePixelCanvas } from '../display-size.js';
import { runAttempt } from './attempt.js';
import type { Connector, RemoteClipboard, RemoteSession } from './connector.js';

/**
 * noVNC's clipboard: the extended clipboard (UTF-8 both ways) where the server offers it, as
 * QEMU does with its qemu-vdagent bridge to the guest's agent. RFB cannot tell whether the guest
 * has an agent, so it is ready from the start.
 */
function vncClipboard(rfb: RFB): RemoteClipboard {
  const listeners: ((event: ClipboardEvent) => void)[] = [];
  rfb.addEventListener('clipboard', (e) => {
    const text = (e as CustomEvent<{ text: string }>).detail.text;
    const tooLarge = tooLargeReason(utf8Length(text), 'from the desktop');
    listeners.forEach((l) => l(tooLarge ? { refused: tooLarge } : { text }));
  });
  return {
    ready: true,
    onReady: () => {},
    send: (text) => {
      const tooLarge = tooLargeReason(utf8Length(text), 'to the desktop');
      if (!tooLarge) rfb.clipboardPasteFrom(text);
      return tooLarge;
    },
    onEvent: (l) => listeners.push(l),
  };
}

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
      // At its own size, noVNC's area is given the desktop's size in device pixels and noVNC
      // scales into it (so its pointer positions stay its own); fitted, the area is the window's.
      const actualSize = devicePixelCanvas(area, () => area);
      return {
        clipboard: vncClipboard(rfb),
        stop: () => {
          actualSize.stop();
          rfb.disconnect();
        },
        focus: () => rfb.focus(),
        sendCtrlAltDel: () => rfb.sendCtrlAltDel(),
        // QEMU's extended key events carry the key's scancode; the keysym is for other servers.
        sendKey: (code, down, { keysym }) => rfb.sendKey(keysym, code, down),
        // No followWindow: noVNC's resizeSession (SetDesktopSize) is refused by QEMU 7.2 for a QXL
        // display ("Invalid screen layout"), and after that refusal the extended clipboard from the
        // guest stopped arriving (test/e2e/clipboard.test.ts); the picture is scaled instead.
        scaleToWindow: (fit) => actualSize.set(!fit),
      };
    });
  }
}
