// The browser-to-display half of RFB after the handshake, parsed message by message so that a
// view-only connection forwards only what changes nothing on the desktop (RFC 6143 §7.5 and the
// extensions QEMU and noVNC use). Every message type has a known length; an unknown type closes
// the connection rather than being guessed at. Also forces ClientInit's shared flag, so that a
// second viewer never disconnects the first.
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import { MessageFilter, type Framing } from '../message-filter.js';

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

/** Longest message forwarded in view-only mode (dropped ones, like clipboard, may be longer). */
const MAX_KEPT = 64 * 1024;

function unknown(detail: string): ProxyError {
  return new ProxyError(CloseCode.protocolError, 'The viewer sent a VNC message that a view-only connection does not allow.', detail);
}

/** The framing of the message at the start of `b` (b.length >= 1). */
function frame(b: Buffer): Framing<keyof DroppedInput> {
  const type = b[0]!;
  switch (type) {
    case ClientMessage.setPixelFormat:
      return { length: 20, drop: undefined };
    case ClientMessage.setEncodings: {
      if (b.length < 4) return { length: undefined, drop: undefined };
      const count = b.readUInt16BE(2);
      if (count > 1024) throw unknown(`SetEncodings with ${count} encodings`);
      return { length: 4 + 4 * count, drop: undefined };
    }
    case ClientMessage.framebufferUpdateRequest:
      return { length: 10, drop: undefined };
    case ClientMessage.keyEvent:
      return { length: 8, drop: 'key' };
    case ClientMessage.pointerEvent:
      return { length: 6, drop: 'pointer' };
    case ClientMessage.clientCutText: {
      if (b.length < 8) return { length: undefined, drop: undefined };
      // A negative length announces the extended clipboard format; its size is the absolute value.
      return { length: 8 + Math.abs(b.readInt32BE(4)), drop: 'clipboard' };
    }
    case ClientMessage.enableContinuousUpdates:
      return { length: 10, drop: undefined };
    case ClientMessage.clientFence: {
      if (b.length < 9) return { length: undefined, drop: undefined };
      const payload = b[8]!;
      if (payload > 64) throw unknown(`ClientFence with ${payload} bytes of payload`);
      return { length: 9 + payload, drop: undefined };
    }
    case ClientMessage.xvp:
      return { length: 4, drop: 'power' };
    case ClientMessage.setDesktopSize: {
      if (b.length < 7) return { length: undefined, drop: undefined };
      return { length: 8 + 16 * b[6]!, drop: 'resize' };
    }
    case ClientMessage.qemu: {
      if (b.length < 2) return { length: undefined, drop: undefined };
      if (b[1] === 0) return { length: 12, drop: 'qemuKey' }; // QEMU extended key event
      if (b[1] === 1) {
        // QEMU audio
        if (b.length < 4) return { length: undefined, drop: undefined };
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
  readonly #messages = new MessageFilter(
    frame,
    (kind: keyof DroppedInput) => {
      this.dropped[kind]++;
    },
    MAX_KEPT,
    'VNC',
  );

  constructor(readonly viewOnly: boolean) {}

  /** The bytes to forward for `chunk`; throws ProxyError on a message it cannot frame. */
  filter(chunk: Buffer): Buffer {
    let data = chunk;
    if (!this.#initialised) {
      if (data.length === 0) return data;
      this.#initialised = true;
      const init = Buffer.from([1]); // ClientInit, shared: never disconnect the other viewers
      data = data.subarray(1);
      if (!this.viewOnly) return Buffer.concat([init, data]);
      return Buffer.concat([init, this.#messages.filter(data)]);
    }
    return this.viewOnly ? this.#messages.filter(data) : data; // full control: forwarded as is, no copy
  }
}
