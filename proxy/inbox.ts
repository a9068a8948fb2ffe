// Bytes received during a handshake, read as a stream with bounds: a reader asks for exactly
// n bytes and waits for them, never longer than a deadline, never buffering more than a limit.
// A peer that may rightly send on while its handshake ends (a display: SPICE's server starts its
// network test right after its first message) is paused at the limit instead, and resumed as the
// handshake reads or the relay takes over; its bytes are kept, never dropped.
import { CloseCode } from '../contract/close-codes.js';
import { ProxyError } from './close.js';

/** The peer's socket, paused while the inbox holds its limit. */
export interface InboxFlow {
  pause(): void;
  resume(): void;
}

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
  #paused = false;

  /**
   * @param source names the peer in errors ("the browser", "the display")
   * @param limit most bytes held at once; without `flow`, more is a protocol error
   * @param flow pauses the peer at the limit instead (then at most the limit and one read are held)
   */
  constructor(
    readonly source: string,
    readonly limit: number,
    readonly flow?: InboxFlow,
  ) {}

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (this.#failure) return;
    if (this.flow) {
      // Already read from the socket, so kept; the peer waits for room before it sends more.
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      if (this.#length >= this.limit && !this.#paused) {
        this.#paused = true;
        this.flow.pause();
      }
      this.#serve();
      return;
    }
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
    this.#roomAgain();
    return chunks;
  }

  #roomAgain(): void {
    if (!this.#paused || this.#length >= this.limit) return;
    this.#paused = false;
    this.flow!.resume();
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
    this.#roomAgain();
    return out;
  }
}
