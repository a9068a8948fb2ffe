// Bytes received during a handshake, read as a stream with bounds: a reader asks for exactly
// n bytes and waits for them, never longer than a deadline, never buffering more than a limit.
import { CloseCode } from '../contract/close-codes.js';
import { ProxyError } from './close.js';

interface Waiter {
  n: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Inbox {
  #chunks: Buffer[] = [];
  #length = 0;
  #waiter: Waiter | undefined;
  #failure: Error | undefined;

  /**
   * @param source names the peer in errors ("the browser", "the display")
   * @param limit most bytes held at once; more is a protocol error
   */
  constructor(
    readonly source: string,
    readonly limit: number,
  ) {}

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (this.#failure) return;
    // A chunk past the limit is refused, not held: the inbox never keeps more than its limit.
    if (this.#length + chunk.length > this.limit) {
      this.fail(
        new ProxyError(
          CloseCode.protocolError,
          `${this.source} sent more than the handshake allows`,
          `${this.source} sent ${this.#length + chunk.length} bytes during the handshake (limit ${this.limit})`,
        ),
      );
      return;
    }
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#serve();
  }

  /** No more bytes will come: pending and later reads fail with this error. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  /** Exactly n bytes, within timeoutMs. One read at a time. */
  read(n: number, timeoutMs: number): Promise<Buffer> {
    if (this.#waiter) throw new Error('Inbox.read: a read is already pending');
    if (n > this.limit) {
      return Promise.reject(
        new ProxyError(
          CloseCode.protocolError,
          `${this.source} announced a message larger than allowed`,
          `${this.source} announced ${n} bytes (limit ${this.limit})`,
        ),
      );
    }
    if (this.#length >= n) return Promise.resolve(this.#take(n));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(
          new ProxyError(
            CloseCode.protocolError,
            `${this.source} stopped answering during the handshake`,
            `${this.source} sent ${this.#length} of ${n} awaited bytes in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiter = { n, resolve, reject, timer };
    });
  }

  /** Whatever is buffered and unread, handed to the relay after the handshake. */
  drain(): Buffer[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#length = 0;
    return chunks;
  }

  #serve(): void {
    const waiter = this.#waiter;
    if (!waiter || this.#length < waiter.n) return;
    this.#waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(this.#take(waiter.n));
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return out;
  }
}
