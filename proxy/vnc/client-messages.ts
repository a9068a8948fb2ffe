// The browser-to-display half of RFB after the handshake, parsed message by message so that a
// view-only connection forwards only what changes nothing on the desktop (RFC 6143 §7.5 and the
// extensions QEMU and noVNC use). Every message type has a known length; an unknown type closes
// the connection rather than being guessed at. Also forces ClientInit's shared flag, so that a
// second viewer never disconnects the first.
import { CloseCode, ProxyError } from '../close.js';

export const ClientMessage = {
  setPixelFormat: 0,
  setEncodings: 2,
  framebufferUpdateRequest: 3,
  keyEvent: 4,
  pointerEvent: 5,
  clientCutText: 6,
  enableContinuousUpdates: 150,
  clientFence: 248,
  xvp: 250,
  setDesktopSize: 251,
  qemu: 255,
} as const;

/** What a view-only connection dropped, by kind. */
export interface DroppedInput {
  key: number;
  pointer: number;
  clipboard: number;
  qemuKey: number;
  audio: number;
  power: number;
  resize: number;
}

/** Longest message kept whole in view-only mode; longer ones (clipboard) are dropped while streaming. */
const MAX_KEPT = 64 * 1024;

interface Framing {
  /** Total length, or undefined until more header bytes arrive. */
  length: number | undefined;
  /** The counter to bump when dropped in view-only mode; undefined when forwarded. */
  drop: keyof DroppedInput | undefined;
}

function unknown(detail: string): ProxyError {
  return new ProxyError(CloseCode.protocolError,
    'The viewer sent a VNC message that a view-only connection does not allow.', detail);
}

/** The framing of the message at the start of `b` (b.length >= 1). */
function frame(b: Buffer): Framing {
  const type = b[0]!;
  switch (type) {
    case ClientMessage.setPixelFormat: return { length: 20, drop: undefined };
    case ClientMessage.setEncodings: {
      if (b.length < 4) return { length: undefined, drop: undefined };
      const count = b.readUInt16BE(2);
      if (count > 1024) throw unknown(`SetEncodings with ${count} encodings`);
      return { length: 4 + 4 * count, drop: undefined };
    }
    case ClientMessage.framebufferUpdateRequest: return { length: 10, drop: undefined };
    case ClientMessage.keyEvent: return { length: 8, drop: 'key' };
    case ClientMessage.pointerEvent: return { length: 6, drop: 'pointer' };
    case ClientMessage.clientCutText: {
      if (b.length < 8) return { length: undefined, drop: 'clipboard' };
      // A negative length announces the extended clipboard format; its size is the absolute value.
      return { length: 8 + Math.abs(b.readInt32BE(4)), drop: 'clipboard' };
    }
    case ClientMessage.enableContinuousUpdates: return { length: 10, drop: undefined };
    case ClientMessage.clientFence: {
      if (b.length < 9) return { length: undefined, drop: undefined };
      const payload = b[8]!;
      if (payload > 64) throw unknown(`ClientFence with ${payload} bytes of payload`);
      return { length: 9 + payload, drop: undefined };
    }
    case ClientMessage.xvp: return { length: 4, drop: 'power' };
    case ClientMessage.setDesktopSize: {
      if (b.length < 7) return { length: undefined, drop: 'resize' };
      return { length: 8 + 16 * b[6]!, drop: 'resize' };
    }
    case ClientMessage.qemu: {
      if (b.length < 2) return { length: undefined, drop: undefined };
      if (b[1] === 0) return { length: 12, drop: 'qemuKey' }; // QEMU extended key event
      if (b[1] === 1) { // QEMU audio
        if (b.length < 4) return { length: undefined, drop: 'audio' };
        const op = b.readUInt16BE(2);
        if (op === 0 || op === 1) return { length: 4, drop: 'audio' };
        if (op === 2) return { length: 10, drop: 'audio' };
        throw unknown(`QEMU audio operation ${op}`);
      }
      throw unknown(`QEMU client message subtype ${b[1]}`);
    }
    default:
      throw unknown(`RFB client message type ${type}`);
  }
}

export class RfbClientStream {
  readonly dropped: DroppedInput = { key: 0, pointer: 0, clipboard: 0, qemuKey: 0, audio: 0, power: 0, resize: 0 };
  #initialised = false;
  #pending: Buffer | undefined;
  /** Bytes of a dropped message still to come. */
  #skip = 0;

  constructor(readonly viewOnly: boolean) {}

  /** The bytes to forward for `chunk`; throws ProxyError on a message it cannot frame. */
  filter(chunk: Buffer): Buffer {
    let data = chunk;
    const out: Buffer[] = [];
    if (!this.#initialised) {
      if (data.length === 0) return data;
      this.#initialised = true;
      out.push(Buffer.from([1])); // ClientInit, shared: never disconnect the other viewers
      data = data.subarray(1);
      if (!this.viewOnly) return Buffer.concat([out[0]!, data]);
    }
    if (!this.viewOnly) return data; // full control: forwarded as is, no copy

    if (this.#skip > 0) {
      const n = Math.min(this.#skip, data.length);
      this.#skip -= n;
      data = data.subarray(n);
    }
    if (this.#pending) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    }
    let at = 0;
    while (at < data.length) {
      const rest = data.subarray(at);
      const { length, drop } = frame(rest);
      if (length === undefined || (rest.length < length && drop === undefined)) {
        if (rest.length > MAX_KEPT) throw unknown('an incomplete message longer than allowed');
        this.#pending = Buffer.from(rest); // a copy: the chunk's memory is not kept alive
        break;
      }
      if (drop !== undefined) {
        this.dropped[drop]++;
        if (rest.length < length) { this.#skip = length - rest.length; break; }
      } else {
        out.push(rest.subarray(0, length));
      }
      at += length;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}
