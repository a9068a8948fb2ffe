// Text typed on a phone's on-screen keyboard arrives as input events carrying characters, not as
// key presses; SPICE and VNC carry key presses. This turns characters into the keys a US keyboard
// presses for them (with Shift where needed), which the guest's layout turns back into the same
// characters when it is US or close to it. Characters without a key here are reported, not
// guessed at.

export interface KeyStroke {
  /** `KeyboardEvent.code` of the key. */
  code: string;
  shift: boolean;
  /** The character, for clients that send X keysyms beside the key (VNC). */
  char: string;
}

const UNSHIFTED: Record<string, string> = {
  ' ': 'Space',
  '-': 'Minus',
  '=': 'Equal',
  '[': 'BracketLeft',
  ']': 'BracketRight',
  '\\': 'Backslash',
  ';': 'Semicolon',
  "'": 'Quote',
  '`': 'Backquote',
  ',': 'Comma',
  '.': 'Period',
  '/': 'Slash',
  '\n': 'Enter',
  '\t': 'Tab',
};
const SHIFTED: Record<string, string> = {
  '!': 'Digit1',
  '@': 'Digit2',
  '#': 'Digit3',
  $: 'Digit4',
  '%': 'Digit5',
  '^': 'Digit6',
  '&': 'Digit7',
  '*': 'Digit8',
  '(': 'Digit9',
  ')': 'Digit0',
  _: 'Minus',
  '+': 'Equal',
  '{': 'BracketLeft',
  '}': 'BracketRight',
  '|': 'Backslash',
  ':': 'Semicolon',
  '"': 'Quote',
  '~': 'Backquote',
  '<': 'Comma',
  '>': 'Period',
  '?': 'Slash',
};

/** The keys for `text`, and the characters that have none. */
export function keysForText(text: string): { strokes: KeyStroke[]; missing: string[] } {
  const strokes: KeyStroke[] = [];
  const missing: string[] = [];
  for (const char of text.replace(/\r\n?/g, '\n')) {
    if (/^[a-z]$/.test(char)) strokes.push({ code: `Key${char.toUpperCase()}`, shift: false, char });
    else if (/^[A-Z]$/.test(char)) strokes.push({ code: `Key${char}`, shift: true, char });
    else if (/^[0-9]$/.test(char)) strokes.push({ code: `Digit${char}`, shift: false, char });
    else if (UNSHIFTED[char]) strokes.push({ code: UNSHIFTED[char], shift: false, char });
    else if (SHIFTED[char]) strokes.push({ code: SHIFTED[char], shift: true, char });
    else missing.push(char);
  }
  return { strokes, missing };
}

/** The X keysym of a typed character (VNC sends one with each key). */
export function keysymOf(char: string): number {
  if (char === '\n') return 0xff0d; // Return
  if (char === '\t') return 0xff09; // Tab
  if (char === '\b') return 0xff08; // BackSpace
  const cp = char.codePointAt(0)!;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) ? cp : 0x1000000 | cp;
}
