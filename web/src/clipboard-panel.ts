// The viewer's Clipboard control: text copied in the desktop lands on this device's clipboard
// where the browser allows it (the Async Clipboard API) and always in a box to copy from; text
// from this device goes to the desktop from a paste box, or straight from the device's clipboard
// where the browser grants reading it. Those who only watch get no way to send: the proxy drops
// their clipboard messages anyway.
import type { RemoteClipboard, RemoteSession } from './connectors/connector.js';
import { CLIPBOARD_LIMIT_BYTES } from './clipboard-text.js';

export interface ClipboardPanel {
  /** The session in use (undefined while not connected) and whether its person may send to the desktop. */
  update(session: RemoteSession | undefined, maySend: boolean): void;
}

interface Parts {
  button: HTMLButtonElement;
  panel: HTMLElement;
  focusDesktop: () => void;
}

export function installClipboardPanel({ button, panel, focusDesktop }: Parts): ClipboardPanel {
  const $ = <T extends HTMLElement>(selector: string) => panel.querySelector(selector) as T;
  const received = $<HTMLTextAreaElement>('.received');
  const outgoing = $<HTMLTextAreaElement>('.outgoing');
  const sendPart = $<HTMLElement>('.send-part');
  const sendButton = $<HTMLButtonElement>('.send');
  const pasteButton = $<HTMLButtonElement>('.paste');
  const copyButton = $<HTMLButtonElement>('.copy');
  const status = $<HTMLElement>('.clipboard-status');
  $<HTMLElement>('.limit').textContent = `Text only, up to ${CLIPBOARD_LIMIT_BYTES / (1024 * 1024)} MB.`;
  let clipboard: RemoteClipboard | undefined;
  let maySend = false;
  /** The last text that crossed either way: reading it back from this device sends nothing. */
  let lastCrossed: string | undefined;

  const say = (text: string) => {
    status.textContent = text;
  };
  const open = (show: boolean) => {
    panel.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    if (show) button.classList.remove('has-news');
  };
  let waiting = false;
  const refresh = () => {
    const ready = clipboard?.ready === true;
    sendPart.hidden = !maySend;
    sendButton.disabled = pasteButton.disabled = !ready;
    panel.dataset.ready = String(ready);
    if (!clipboard) return;
    if (!ready && !maySend) say('Watching only: nothing goes to the desktop’s clipboard.');
    else if (!ready) say("Waiting for the desktop's clipboard agent (spice-vdagent): without it no text can cross.");
    else if (waiting) say('');
    waiting = !ready;
  };

  const send = (text: string, how: string) => {
    if (!clipboard || !maySend) return;
    if (text === '') return say('Nothing to send: the text is empty.');
    const refused = clipboard.send(text);
    if (refused) return say(refused);
    lastCrossed = text;
    say(`${how} Paste it in the desktop (Ctrl+V).`);
  };

  /** This device's clipboard, where the browser lets the page write it; says which happened. */
  const writeLocal = (text: string, done: string, otherwise: string) => {
    if (!navigator.clipboard?.writeText) return say(otherwise);
    navigator.clipboard.writeText(text).then(
      () => say(done),
      () => say(otherwise),
    );
  };

  const attach = (next: RemoteClipboard) => {
    next.onReady(() => {
      if (clipboard === next) refresh();
    });
    next.onEvent((event) => {
      if (clipboard !== next) return;
      if ('refused' in event) return say(event.refused);
      received.value = event.text;
      lastCrossed = event.text;
      if (panel.hidden) button.classList.add('has-news');
      // Where the browser allows it, straight onto this device's clipboard as well.
      writeLocal(
        event.text,
        "Copied in the desktop: it is on this device's clipboard too, and below.",
        'Copied in the desktop: copy it from the box below (this browser does not let the page write the clipboard).',
      );
    });
  };

  button.addEventListener('click', () => open(panel.hidden));
  $<HTMLButtonElement>('.close').addEventListener('click', () => {
    open(false);
    focusDesktop();
  });
  copyButton.addEventListener('click', () => {
    received.select();
    writeLocal(received.value, "On this device's clipboard.", 'Selected: press Ctrl+C to copy it.');
  });
  sendButton.addEventListener('click', () => send(outgoing.value, 'Sent to the desktop’s clipboard.'));
  pasteButton.addEventListener('click', () => {
    if (!navigator.clipboard?.readText) return say('This browser does not let the page read the clipboard: paste into the box, then Send.');
    navigator.clipboard.readText().then(
      (text) => {
        outgoing.value = text;
        send(text, "This device's clipboard was sent to the desktop's.");
      },
      () => say('The browser did not allow reading the clipboard: paste into the box (Ctrl+V), then Send.'),
    );
  });
  // Coming back to the tab with something new copied here: sent by itself, where the browser has
  // already granted reading the clipboard (never a prompt the person did not ask for).
  window.addEventListener('focus', () => {
    if (!clipboard?.ready || !maySend || !navigator.clipboard?.readText || !navigator.permissions) return;
    navigator.permissions.query({ name: 'clipboard-read' as PermissionName }).then(
      (permission) => {
        if (permission.state !== 'granted') return;
        void navigator.clipboard.readText().then((text) => {
          if (text !== '' && text !== lastCrossed) send(text, "This device's clipboard was sent to the desktop's.");
        });
      },
      () => {},
    );
  });

  return {
    update(session, sending) {
      maySend = sending;
      const next = session?.clipboard;
      button.hidden = next === undefined;
      if (!next) open(false);
      if (next !== clipboard) {
        clipboard = next;
        if (next) attach(next);
      }
      refresh();
    },
  };
}
