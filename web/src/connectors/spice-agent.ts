// The SPICE agent's messages that carry the clipboard, as spice-protocol's vd_agent.h defines
// them (spice-html5 0.2.1 has none of them): the agent's stream reassembled from the main
// channel's AGENT_DATA payloads, and the clipboard messages' bodies encoded and decoded.
// Pure logic, no browser or spice-html5: both directions are unit-tested.

/** VDAgentMessage's header: protocol, type (u32), opaque (u64), size (u32), little-endian. */
export const AGENT_HEADER_BYTES = 20;
const AGENT_PROTOCOL = 1;

/** Message types (enum in vd_agent.h, from VD_AGENT_MOUSE_STATE = 1). */
export const AgentMessageType = {
  clipboard: 4,
  announceCapabilities: 6,
  clipboardGrab: 7,
  clipboardRequest: 8,
  clipboardRelease: 9,
} as const;

/** Capability bits (VD_AGENT_CAP_*). */
export const AgentCapability = {
  mouseState: 0,
  monitorsConfig: 1,
  reply: 2,
  clipboard: 3,
  clipboardByDemand: 5,
  /** Clipboard messages start with a selection byte and three reserved ones, when both sides announce it. */
  clipboardSelection: 6,
  guestLineEndLf: 8,
  guestLineEndCrlf: 9,
} as const;

/** VD_AGENT_CLIPBOARD_NONE and _UTF8_TEXT: the only format Porthole carries. */
export const CLIPBOARD_NONE = 0;
export const CLIPBOARD_UTF8_TEXT = 1;
/** VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD (Ctrl+C, Ctrl+V), as opposed to X's PRIMARY selection. */
export const SELECTION_CLIPBOARD = 0;

export interface AgentMessage {
  type: number;
  body: Uint8Array;
}

/** A message the stream skipped because its body was larger than allowed. */
export interface SkippedMessage {
  type: number;
  skipped: number;
}

/**
 * The agent's messages as they arrive: the server forwards them in AGENT_DATA payloads of at most
 * 2 KiB (VD_AGENT_MAX_DATA_SIZE), so one message may span many payloads. A body larger than
 * `maxBody` is skipped, not held, and reported once.
 */
export class AgentStream {
  private header = new Uint8Array(AGENT_HEADER_BYTES);
  private headerFilled = 0;
  private body: Uint8Array | undefined;
  private bodyFilled = 0;
  /** Bytes of a too-large body still to skip. */
  private skipping = 0;
  private type = 0;

  constructor(private readonly maxBody: number) {}

  /** Whether the stream is inside a message (the next payload continues it). */
  get midMessage(): boolean {
    return this.headerFilled > 0 || this.body !== undefined || this.skipping > 0;
  }

  push(payload: Uint8Array): (AgentMessage | SkippedMessage)[] {
    const out: (AgentMessage | SkippedMessage)[] = [];
    let at = 0;
    while (at < payload.length) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, payload.length - at);
        this.skipping -= n;
        at += n;
        continue;
      }
      if (this.body) {
        const n = Math.min(this.body.length - this.bodyFilled, payload.length - at);
        this.body.set(payload.subarray(at, at + n), this.bodyFilled);
        this.bodyFilled += n;
        at += n;
        if (this.bodyFilled === this.body.length) {
          out.push({ type: this.type, body: this.body });
          this.body = undefined;
        }
        continue;
      }
      const n = Math.min(AGENT_HEADER_BYTES - this.headerFilled, payload.length - at);
      this.header.set(payload.subarray(at, at + n), this.headerFilled);
      this.headerFilled += n;
      at += n;
      if (this.headerFilled < AGENT_HEADER_BYTES) continue;
      this.headerFilled = 0;
      const view = new DataView(this.header.buffer);
      this.type = view.getUint32(4, true);
      const size = view.getUint32(16, true);
      if (size > this.maxBody) {
        this.skipping = size;
        out.push({ type: this.type, skipped: size });
      } else if (size === 0) {
        out.push({ type: this.type, body: new Uint8Array(0) });
      } else {
        this.body = new Uint8Array(size);
        this.bodyFilled = 0;
      }
    }
    return out;
  }
}

/** A whole VDAgentMessage (header and body), as the agent would send it: for tests and tools. */
export function agentMessage(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(AGENT_HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, AGENT_PROTOCOL, true);
  view.setUint32(4, type, true);
  view.setUint32(16, body.length, true);
  out.set(body, AGENT_HEADER_BYTES);
  return out;
}

/** VDAgentAnnounceCapabilities: u32 request, then u32 words of capability bits. */
export function decodeCapabilities(body: Uint8Array): { request: boolean; has(cap: number): boolean } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const words: number[] = [];
  for (let at = 4; at + 4 <= body.length; at += 4) words.push(view.getUint32(at, true));
  return {
    request: body.length >= 4 && view.getUint32(0, true) !== 0,
    has: (cap) => ((words[Math.floor(cap / 32)] ?? 0) & (1 << (cap % 32))) !== 0,
  };
}

export function encodeCapabilities(request: boolean, caps: number[]): Uint8Array {
  const words = new Uint32Array(Math.max(1, Math.ceil((Math.max(...caps, 0) + 1) / 32)));
  for (const cap of caps) words[Math.floor(cap / 32)]! |= 1 << (cap % 32);
  const out = new Uint8Array(4 + words.length * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, request ? 1 : 0, true);
  words.forEach((w, i) => view.setUint32(4 + i * 4, w >>> 0, true));
  return out;
}

/**
 * A clipboard message's body: with the selection header (u8 selection, three reserved bytes) when
 * both sides announced CLIPBOARD_SELECTION, then u32 words, then data.
 */
function clipboardBody(selection: number | undefined, words: number[], data?: Uint8Array): Uint8Array {
  const head = selection === undefined ? 0 : 4;
  const out = new Uint8Array(head + words.length * 4 + (data?.length ?? 0));
  const view = new DataView(out.buffer);
  if (selection !== undefined) out[0] = selection;
  words.forEach((w, i) => view.setUint32(head + i * 4, w, true));
  if (data) out.set(data, head + words.length * 4);
  return out;
}

/** VDAgentClipboardGrab: the types the grabbing side offers. */
export const encodeGrab = (selection: number | undefined, types: number[]) => clipboardBody(selection, types);
/** VDAgentClipboardRequest: one type. */
export const encodeRequest = (selection: number | undefined, type: number) => clipboardBody(selection, [type]);
/** VDAgentClipboard: the type, then the data. */
export const encodeClipboard = (selection: number | undefined, type: number, data: Uint8Array) => clipboardBody(selection, [type], data);
/** VDAgentClipboardRelease: nothing but the selection header. */
export const encodeRelease = (selection: number | undefined) => clipboardBody(selection, []);

export interface ClipboardMessage {
  /** SELECTION_CLIPBOARD when the messages carry no selection header. */
  selection: number;
  /** GRAB: the types offered; REQUEST and CLIPBOARD: the one type. */
  types: number[];
  /** CLIPBOARD: the data. */
  data: Uint8Array;
}

/** Decodes a GRAB, REQUEST, CLIPBOARD or RELEASE body; undefined when it is too short to be one. */
export function decodeClipboard(type: number, body: Uint8Array, withSelection: boolean): ClipboardMessage | undefined {
  const head = withSelection ? 4 : 0;
  if (body.length < head) return undefined;
  const selection = withSelection ? body[0]! : SELECTION_CLIPBOARD;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const word = (i: number) => view.getUint32(head + i * 4, true);
  const words = (body.length - head) >> 2;
  switch (type) {
    case AgentMessageType.clipboardGrab:
      return { selection, types: Array.from({ length: words }, (_, i) => word(i)), data: new Uint8Array(0) };
    case AgentMessageType.clipboardRequest:
      return words >= 1 ? { selection, types: [word(0)], data: new Uint8Array(0) } : undefined;
    case AgentMessageType.clipboard:
      return words >= 1 ? { selection, types: [word(0)], data: body.subarray(head + 4) } : undefined;
    case AgentMessageType.clipboardRelease:
      return { selection, types: [], data: new Uint8Array(0) };
    default:
      return undefined;
  }
}
