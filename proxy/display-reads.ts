// Reads from a display's TCP socket into a buffer that is used again while nothing holds the
// last read. Node otherwise allocates a fresh 64 KiB buffer outside V8's heap for every read, and
// a gigabyte of them between two scavenges makes V8 mark the whole heap again and again (in the
// full product, a quarter of its CPU and marking steps of tens of milliseconds on the main
// thread: see BENCHMARKS.md). Node's `onread` option is the way to read into a given buffer; it
// skips the stream's own 'data' events, so each read is emitted as 'data' here, to the same
// listeners. A read is handed out fresh unless its consumer said it was done with the last one
// (the relay does, when the browser's socket took the chunk at once); the handshake's readers
// keep what they get, so they always get fresh buffers.
import type { OnReadOpts } from 'node:net';
import type { Socket } from 'node:net';

const READ_SIZE = 64 * 1024;

const bySocket = new WeakMap<Socket, DisplayReads>();

/** The reads of a display socket opened with them (undefined for any other socket, e.g. TLS over it). */
export function readsOf(socket: Socket): DisplayReads | undefined {
  return bySocket.get(socket);
}

export class DisplayReads {
  #socket: Socket | undefined;
  #buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  #reusable = false;

  /** For `net.connect`'s options. */
  readonly onread: OnReadOpts = {
    buffer: () => this.#next(),
    callback: (bytes: number, buffer: Uint8Array) => {
      this.#socket?.emit('data', (buffer as Buffer).subarray(0, bytes));
      return true; // keep reading (false would pause the socket)
    },
  };

  /** The socket the reads belong to (known only once `net.connect` returns it). */
  attach(socket: Socket): void {
    this.#socket = socket;
    bySocket.set(socket, this);
  }

  /** The consumer of the last read has no reference left to it: the next read may overwrite it. */
  release(): void {
    this.#reusable = true;
  }

  #next(): Buffer {
    if (!this.#reusable) this.#buffer = Buffer.allocUnsafeSlow(READ_SIZE);
    this.#reusable = false;
    return this.#buffer;
  }
}
