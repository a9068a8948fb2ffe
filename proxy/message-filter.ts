// A streaming filter over a framed message stream: whole messages are forwarded or dropped as a
// protocol's framing says, across any split of the stream into chunks. A dropped message is
// skipped as it streams by (never buffered, however long it says it is); a forwarded one is
// held until complete, up to a bound. Used by the view-only filters of VNC and SPICE.
import { CloseCode } from '../contract/close-codes.js';
import { ProxyError } from './close.js';

export interface Framing<Kind extends string> {
  /** The message's total length, or undefined until more of its header has arrived. */
  length: number | undefined;
  /** Set when the message must not reach the display: the kind of input it is. */
  drop: Kind | undefined;
}

export class MessageFilter<Kind extends string> {
  #pending: Buffer | undefined;
  /** Bytes of a dropped message still to come. */
  #skip = 0;

  /**
   * @param frame reads the framing of the message at the start of a buffer (never empty);
   *   throws ProxyError for a message it does not know
   * @param onDrop counts a dropped message
   * @param maxKept longest message forwarded; longer ones close the connection
   * @param protocol names the protocol in that error
   */
  constructor(
    readonly frame: (message: Buffer) => Framing<Kind>,
    readonly onDrop: (kind: Kind) => void,
    readonly maxKept: number,
    readonly protocol: string,
  ) {}

  /** The bytes of `chunk` to forward. */
  filter(chunk: Buffer): Buffer {
    let data = chunk;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, data.length);
      this.#skip -= n;
      data = data.subarray(n);
    }
    if (this.#pending) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    }
    const out: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      const rest = data.subarray(at);
      const { length, drop } = this.frame(rest);
      if (length === undefined) {
        this.#keep(rest);
        break;
      }
      if (drop !== undefined) {
        this.onDrop(drop);
        if (rest.length < length) {
          this.#skip = length - rest.length;
          break;
        }
      } else {
        if (length > this.maxKept) {
          throw new ProxyError(
            CloseCode.protocolError,
            `The viewer sent a ${this.protocol} message larger than a view-only connection allows.`,
            `${this.protocol} message of ${length} bytes`,
          );
        }
        if (rest.length < length) {
          this.#keep(rest);
          break;
        }
        out.push(rest.subarray(0, length));
      }
      at += length;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Holds an incomplete message, as a copy so the chunk's memory is not kept alive. */
  #keep(rest: Buffer): void {
    this.#pending = Buffer.from(rest);
  }
}
