// The clipboard over SPICE: the client side of the agent's clipboard conversation, written here
// because spice-html5 0.2.1 has none (web/patches/README.md says how it is wired in). Text only,
// the CLIPBOARD selection only, "by demand" as spice-gtk does it: the side that copied announces
// what it has (GRAB), the other asks for it (REQUEST) and gets it (CLIPBOARD). Pure logic: the
// spice-html5 connection is behind `AgentLink`.
import { CLIPBOARD_LIMIT_BYTES, tooLargeReason, type ClipboardEvent } from '../clipboard-text.js';
import {
  AgentCapability,
  AgentMessageType,
  AgentStream,
  CLIPBOARD_NONE,
  CLIPBOARD_UTF8_TEXT,
  SELECTION_CLIPBOARD,
  decodeCapabilities,
  decodeClipboard,
  encodeClipboard,
  encodeGrab,
  encodeRequest,
} from './spice-agent.js';

/** What the clipboard needs of the SPICE connection. */
export interface AgentLink {
  /** Sends one agent message (spice-html5 adds the header, splits it and spends the agent's tokens). */
  send(type: number, body: Uint8Array): void;
}

/** The capabilities the client announces (spice-html5's own three, and the clipboard's two; never GRAB_SERIAL, which needs serials). */
export const CLIENT_CAPABILITIES: number[] = [
  AgentCapability.mouseState,
  AgentCapability.monitorsConfig,
  AgentCapability.reply,
  AgentCapability.clipboardByDemand,
  // Without it spice-vdagentd 0.22 jams after a client leaves while the guest owns the clipboard.
  AgentCapability.clipboardSelection,
];

export class SpiceClipboard {
  private stream = new AgentStream(CLIPBOARD_LIMIT_BYTES + 8);
  private agentCaps: ReturnType<typeof decodeCapabilities> | undefined;
  /** The text the guest may ask for, while the browser owns the guest's clipboard. */
  private offered: Uint8Array | undefined;
  private readonly listeners: ((event: ClipboardEvent) => void)[] = [];
  private readonly readyListeners: ((ready: boolean) => void)[] = [];

  constructor(private readonly link: AgentLink) {}

  /** The agent answered with clipboard support: text can go both ways. */
  get ready(): boolean {
    return this.agentCaps?.has(AgentCapability.clipboardByDemand) === true;
  }

  onEvent(listener: (event: ClipboardEvent) => void): void {
    this.listeners.push(listener);
  }

  onReady(listener: (ready: boolean) => void): void {
    this.readyListeners.push(listener);
  }

  /** The agent (re)connected or went away: what it knew is gone. */
  agentChanged(): void {
    const was = this.ready;
    this.agentCaps = undefined;
    this.offered = undefined;
    this.stream = new AgentStream(CLIPBOARD_LIMIT_BYTES + 8);
    if (was) this.readyListeners.forEach((l) => l(false));
  }

  /** Puts `text` on the guest's clipboard; returns why not, when it cannot. */
  send(text: string): string | undefined {
    if (!this.ready) return "The desktop's clipboard agent is not running, so text cannot reach its clipboard.";
    const bytes = new TextEncoder().encode(this.guestLineEnds(text));
    const tooLarge = tooLargeReason(bytes.length, 'to the desktop');
    if (tooLarge) return tooLarge;
    this.offered = bytes;
    this.link.send(AgentMessageType.clipboardGrab, encodeGrab(this.selection(), [CLIPBOARD_UTF8_TEXT]));
    return undefined;
  }

  /**
   * One AGENT_DATA payload from the main channel. Returns true when the clipboard took it; false
   * for a whole message of another kind, which spice-html5 handles as before (it answers a
   * capabilities request itself).
   */
  agentData(payload: Uint8Array): boolean {
    const continuing = this.stream.midMessage;
    const messages = this.stream.push(payload);
    let others = false;
    for (const m of messages) {
      if ('skipped' in m) {
        if (m.type === AgentMessageType.clipboard) this.emit({ refused: tooLargeReason(m.skipped - 4, 'from the desktop')! });
        continue;
      }
      if (m.type === AgentMessageType.announceCapabilities) {
        const was = this.ready;
        this.agentCaps = decodeCapabilities(m.body);
        if (this.ready !== was) this.readyListeners.forEach((l) => l(this.ready));
        others = true; // spice-html5 answers a request with its (patched) capabilities
        continue;
      }
      if (!this.clipboardMessage(m.type, m.body)) others = true;
    }
    // spice-html5 reads a payload as one whole message: it gets only a payload that is exactly one.
    return continuing || messages.length !== 1 || this.stream.midMessage || !others;
  }

  /** Handles a clipboard message; false when it is none. */
  private clipboardMessage(type: number, body: Uint8Array): boolean {
    const message = decodeClipboard(type, body, this.withSelection());
    if (!message) return type >= AgentMessageType.clipboardGrab && type <= AgentMessageType.clipboardRelease;
    const selection = this.selection();
    const ours = message.selection === SELECTION_CLIPBOARD;
    switch (type) {
      case AgentMessageType.clipboardGrab:
        // Something was copied in the guest: the browser no longer owns its clipboard; ask for text.
        if (!ours) return true;
        this.offered = undefined;
        if (message.types.includes(CLIPBOARD_UTF8_TEXT))
          this.link.send(AgentMessageType.clipboardRequest, encodeRequest(selection, CLIPBOARD_UTF8_TEXT));
        return true;
      case AgentMessageType.clipboardRequest: {
        // An application in the guest pastes: answer with the text, or with none (the agent waits otherwise).
        const text = ours && message.types[0] === CLIPBOARD_UTF8_TEXT ? this.offered : undefined;
        const answerSelection = this.withSelection() ? message.selection : undefined;
        if (text) this.link.send(AgentMessageType.clipboard, encodeClipboard(answerSelection, CLIPBOARD_UTF8_TEXT, text));
        else this.link.send(AgentMessageType.clipboard, encodeClipboard(answerSelection, CLIPBOARD_NONE, new Uint8Array(0)));
        return true;
      }
      case AgentMessageType.clipboard:
        if (ours && message.types[0] === CLIPBOARD_UTF8_TEXT) {
          const text = new TextDecoder().decode(message.data).replace(/\0+$/, '');
          this.emit({ text: this.agentCaps?.has(AgentCapability.guestLineEndCrlf) ? text.replace(/\r\n/g, '\n') : text });
        }
        return true;
      case AgentMessageType.clipboardRelease:
        if (ours) this.offered = undefined;
        return true;
      default:
        return false;
    }
  }

  private emit(event: ClipboardEvent): void {
    this.listeners.forEach((l) => l(event));
  }

  private withSelection(): boolean {
    return this.agentCaps?.has(AgentCapability.clipboardSelection) === true;
  }

  /** The selection header to send: only when both sides announced it (the client always does). */
  private selection(): number | undefined {
    return this.withSelection() ? SELECTION_CLIPBOARD : undefined;
  }

  /** A Windows guest's agent wants CRLF line ends; browsers use LF. */
  private guestLineEnds(text: string): string {
    return this.agentCaps?.has(AgentCapability.guestLineEndCrlf) ? text.replace(/\r?\n/g, '\r\n') : text;
  }
}
