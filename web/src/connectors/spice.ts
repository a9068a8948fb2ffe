// SPICE through spice-html5. The password it sends is empty: the proxy replaces the ticket with
// the real one, so the browser never knows it.
import { SpiceMainConn, sendCtrlAltDel } from '@spice-project/spice-html5';
import type { Attempt } from '../api.js';
import { spice } from '../../../proxy/spice/descriptor.js';
import { runAttempt } from './attempt.js';
import { CLIENT_CAPABILITIES, SpiceClipboard } from './spice-clipboard.js';
import { SpiceSound } from './spice-sound.js';
import { devicePixelCanvas, followElement } from '../display-size.js';
import { watchSpiceHealth } from './spice-health.js';
import { spiceKeyCode } from './spice-scancodes.js';
import { installSpiceTouch } from './spice-touch.js';
import type { Connector, RemoteSession } from './connector.js';

// spice-html5 calls alert() for a key it has no scancode for (what spice-scancodes.ts does not
// map either, such as IME composition), which freezes the tab until dismissed; the key is dropped either way.
// Such alerts become console warnings; any other alert is left as it is.
const nativeAlert = globalThis.alert?.bind(globalThis);
if (nativeAlert) {
  globalThis.alert = (message?: unknown) => {
    if (typeof message === 'string' && message.startsWith('no map for '))
      console.warn(`SPICE: ${message}: this key is not sent to the desktop`);
    else nativeAlert(message);
  };
}

/**
 * Puts the physical key's scancode on each key event before spice-html5's own handler (on the
 * canvas, below `area`) reads it; web/patches makes spice-html5 send it.
 */
function sendPhysicalKeys(area: HTMLElement): void {
  const tag = (e: KeyboardEvent) => {
    const scancode = spiceKeyCode(e.code, e.type === 'keydown');
    if (scancode !== undefined) (e as KeyboardEvent & { porthole_scancode?: number }).porthole_scancode = scancode;
  };
  area.addEventListener('keydown', tag, true);
  area.addEventListener('keyup', tag, true);
}

/** The agent's clipboard, wired into spice-html5 through the hooks web/patches adds. */
function withClipboard(connection: SpiceMainConn): SpiceClipboard {
  const clipboard = new SpiceClipboard({
    send: (type, body) =>
      connection.send_agent_message(type, {
        buffer_size: () => body.length,
        to_buffer: (a, at = 0) => new Uint8Array(a, at, body.length).set(body),
      }),
  });
  connection.porthole_agent_caps = CLIENT_CAPABILITIES.reduce((bits, cap) => bits | (1 << cap), 0);
  connection.porthole_agent_data = (payload) => clipboard.agentData(new Uint8Array(payload));
  connection.porthole_agent_changed = () => clipboard.agentChanged();
  return clipboard;
}

export class SpiceConnector implements Connector {
  readonly protocol = spice.id;
  readonly label = spice.label;

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    return runAttempt(this.protocol, this.label, attempt, screen, signal, 'screen-spice', (area, fail) => {
      sendPhysicalKeys(area);
      // spice-html5 reports the close of any of its channels here.
      const connection = new SpiceMainConn({
        uri: attempt.url,
        password: '',
        screen_id: area.id,
        onerror: (e) => fail(e.message || 'the connection failed'),
      });
      const clipboard = withClipboard(connection);
      const sound = new SpiceSound(area);
      connection.porthole_playback_opened = () => sound.opened();
      let stopWatching = () => {};
      const stopTouch = installSpiceTouch(area);
      const actualSize = devicePixelCanvas(area);
      let following: { stop(): void; again(): void } | undefined;
      // The resolution goes as the agent's monitors configuration (spice-html5's resize_window),
      // which spice-server hands to a QXL device that takes it, else to the agent (X's RandR).
      // Without an agent spice-html5 sends no agent message: asked again when one connects.
      const agentChanged = connection.porthole_agent_changed;
      connection.porthole_agent_changed = () => {
        agentChanged?.();
        if (connection.agent_connected) following?.again();
      };
      return {
        clipboard,
        sound,
        stop: () => {
          stopWatching();
          sound.stop();
          stopTouch();
          actualSize.stop();
          following?.stop();
          connection.stop();
        },
        watchHealth: (broken) => {
          stopWatching = watchSpiceHealth(connection, broken);
        },
        focus: () => area.querySelector('canvas')?.focus(),
        sendCtrlAltDel: () => {
          // spice-html5's sendCtrlAltDel ignores its argument and reads a global `sc` (its own
          // demo page defines one); give it the connection for the call only.
          const scope = globalThis as { sc?: unknown };
          scope.sc = connection;
          try {
            sendCtrlAltDel(connection);
          } finally {
            delete scope.sc;
          }
        },
        sendKey: (code, down, { shift }) => {
          // Through spice-html5's own key handling, as a key press on its canvas would go: it keeps
          // its modifier state in step with shiftKey, and the capture hook above adds the scancode.
          area
            .querySelector('canvas')
            ?.dispatchEvent(new KeyboardEvent(down ? 'keydown' : 'keyup', { code, shiftKey: shift, bubbles: true, cancelable: true }));
        },
        // Fitted, the page's CSS (.screen.fit) scales the SPICE canvas; at its own size, one surface pixel per device pixel.
        scaleToWindow: (fit) => actualSize.set(!fit),
        followWindow: () => {
          following ??= followElement(screen, (size) => {
            if (connection.agent_connected) connection.resize_window(0, size.width, size.height, 32, 0, 0);
          });
        },
        takesInput: () => connection.inputs?.state === 'ready',
      };
    });
  }
}
