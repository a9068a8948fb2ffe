// A phone or tablet has no keyboard to press on the remote screen: the Keyboard button focuses a
// text field, which opens the device's on-screen keyboard, and what it types (input events with
// characters, the way on-screen keyboards, dictation and IMEs deliver text) is sent to the
// desktop as key presses. Enter and Backspace arrive as edits, not characters, and are sent as
// their keys.
import type { RemoteSession } from './connectors/connector.js';
import { keysForText, keysymOf, type KeyStroke } from './text-keys.js';

/** Between keys: a TCG guest's PS/2 queue drops keys sent faster. */
const KEY_GAP_MS = 15;
const SHIFT = { code: 'ShiftLeft', keysym: 0xffe1 };

export function installOnScreenKeyboard(
  button: HTMLButtonElement,
  field: HTMLTextAreaElement,
  session: () => RemoteSession | undefined,
  notice: (text: string) => void,
): void {
  let queue = Promise.resolve();
  const send = (strokes: KeyStroke[]) => {
    queue = queue.then(async () => {
      for (const s of strokes) {
        const remote = session();
        if (!remote?.sendKey) return;
        if (s.shift) remote.sendKey(SHIFT.code, true, { shift: true, keysym: SHIFT.keysym });
        remote.sendKey(s.code, true, { shift: s.shift, keysym: keysymOf(s.char) });
        remote.sendKey(s.code, false, { shift: s.shift, keysym: keysymOf(s.char) });
        if (s.shift) remote.sendKey(SHIFT.code, false, { shift: false, keysym: SHIFT.keysym });
        await new Promise((r) => setTimeout(r, KEY_GAP_MS));
      }
    });
  };
  const type = (text: string) => {
    const { strokes, missing } = keysForText(text);
    if (missing.length > 0) notice(`These characters have no key to send: ${[...new Set(missing)].join(' ')}`);
    send(strokes);
  };
  field.addEventListener('beforeinput', (e) => {
    e.preventDefault(); // the field stays empty: everything goes to the desktop
    if (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph') type('\n');
    else if (e.inputType === 'deleteContentBackward') send([{ code: 'Backspace', shift: false, char: '\b' }]);
    else if (e.data) type(e.data);
  });
  button.addEventListener('click', () => {
    if (document.activeElement === field) {
      field.blur();
      session()?.focus();
    } else field.focus();
  });
}
