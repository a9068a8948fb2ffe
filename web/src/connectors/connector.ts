// One display protocol's browser client behind one interface (compare noVNC's decoders, or
// Guacamole's tunnels): the fallback chain and the viewer know nothing else about protocols.
import type { Attempt } from '../api.js';
import type { ClipboardEvent } from '../clipboard-text.js';
import type { SessionEnd } from '../session-end.js';

/** Text both ways between the page and the desktop's clipboard. */
export interface RemoteClipboard {
  /** Whether text can go both ways now (SPICE: once the desktop's agent answered). */
  readonly ready: boolean;
  onReady(listener: (ready: boolean) => void): void;
  /** Puts text on the desktop's clipboard; returns why not, as a sentence, when it cannot. */
  send(text: string): string | undefined;
  /** Text copied in the desktop, or why it was not carried. */
  onEvent(listener: (event: ClipboardEvent) => void): void;
}

/** The desktop's sound, where the protocol's client plays it. */
export interface RemoteSound {
  /** Whether the desktop has sound to play (SPICE: a playback channel). */
  readonly available: boolean;
  onAvailable(listener: () => void): void;
  /** Lets it play; called within the person's gesture, since browsers start no sound before one. */
  start(): void;
  /** Volume from 0 to 1, and whether it is muted. */
  set(volume: number, muted: boolean): void;
}

export interface RemoteSession {
  readonly protocol: string;
  /** Where keyboard and mouse go. */
  focus(): void;
  sendCtrlAltDel(): void;
  /**
   * Presses or releases one key by its `KeyboardEvent.code` (the on-screen keyboard's typing);
   * `shift` says whether Shift is held, `keysym` is the X keysym for clients that send one.
   * Absent where the client has no way to (RDP).
   */
  sendKey?(code: string, down: boolean, options: { shift: boolean; keysym: number }): void;
  /** Fit the remote screen to the window (true) or show it at its own size, one desktop pixel per device pixel (false). */
  scaleToWindow(fit: boolean): void;
  /**
   * From now on, asks the desktop to take the window's size as its resolution whenever the window
   * settles (display-size.ts), where the protocol can; a guest that keeps its size is scaled.
   */
  followWindow?(): void;
  /** The desktop's clipboard, where the protocol's client carries one. */
  readonly clipboard?: RemoteClipboard;
  /** The desktop's sound, where the protocol's client plays it. */
  readonly sound?: RemoteSound;
  disconnect(): void;
  /** Called once when the connection ends after it was established, with the proxy's close code when it gave one. */
  onClose(listener: (end: SessionEnd) => void): void;
  /**
   * Called once when the connection is still open but no longer shows the desktop (the picture
   * stopped updating, the decoder keeps failing), for clients that can tell; the viewer then
   * moves to the next protocol.
   */
  onBroken(listener: (reason: string) => void): void;
}

/** What the viewer page lends its connectors. */
export interface ViewerPage {
  /** The form that asks for a desktop's own sign-in (user name, password, Connect, Cancel). */
  readonly signInForm: HTMLFormElement;
}

export interface Connector {
  readonly protocol: string;
  /** Human name, e.g. "SPICE". */
  readonly label: string;
  /**
   * Asks the person for what this protocol needs before it connects (RDP: the desktop's own
   * sign-in). Runs before the attempt's token is checked for freshness and without the chain's
   * timeout, since people take their time; rejects when they cancel.
   */
  prepare?(attempt: Attempt, signal: AbortSignal): Promise<void>;
  /**
   * Opens `attempt` inside `screen`. Resolves at the first frame; rejects with an Error whose
   * message a person can read when it fails before that. Aborting `signal` tears it down.
   */
  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession>;
}
