// Reads from a display's TCP socket into buffers that are used again once nothing holds them.
// Node otherwise allocates a fresh 64 KiB buffer outside V8's heap for every read, and V8 counts
// external memory allocated since its last major collection against the old generation's
// headroom (`OldGenerationSpaceAvailable`): every ~9 MB of fresh reads starts a full marking of
// the heap. In the full product (a 34 MB heap) that was a third of its CPU per GB (see
// BENCHMARKS.md). Node's `onread` option is the way to read into a given buffer; it skips the
// stream's own 'data' events, so each read is emitted as 'data' here, to the same listeners.
//
// A read goes into the rest of the current slab while there is room for a typical read, so many
// small reads held by a slow browser pin a slab each 64 KiB, not 64 KiB each. A slab is used
// again once every read in it was released by its consumer (the relay, when the browser's socket
// has taken the chunk). The handshake's readers never release what they get, so what they keep
// is never overwritten: an unreleased slab is only ever dropped, never reused.
import type { OnReadOpts, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export const SLAB_SIZE = 64 * 1024;
/** Below this much room left, the next read starts a slab: a read this small costs a system call for little. */
const MIN_READ = 16 * 1024;
/** Free slabs the pool has not given or taken for this long are let go. */
const POOL_IDLE_MS = 5000;

const bySocket = new WeakMap<Socket, DisplayReads>();

/** The reads of a display socket opened with them (undefined for any other socket, e.g. TLS over it). */
export function readsOf(socket: Socket): DisplayReads | undefined {
  return bySocket.get(socket);
}

interface Slab {
  readonly buffer: Buffer;
  /** Reads in it that their consumer has not released. */
  held: number;
}

export class DisplayReads {
  #allocated = 0;
  #socket: Socket | undefined;
  /** The slab the next read goes into, and where in it. */
  #current: Slab = this.#slab();
  #offset = 0;
  /** Every slab with reads not yet released, by its memory (a read's `.buffer`). */
  readonly #held = new Map<ArrayBufferLike, Slab>();
  /** Slabs nothing holds, ready for reads. */
  readonly #free: Slab[] = [];
  /** How many free slabs to keep: enough for what the relay may hold, so a backlog's slabs come back. */
  #keep = 2;
  /** When a slab last went into the pool or came out of it (performance.now()). */
  #poolUsed = 0;

  /** For `net.connect`'s options. */
  readonly onread: OnReadOpts = {
    buffer: () => this.#next(),
    callback: (bytes: number, buffer: Uint8Array) => {
      const slab = this.#current;
      slab.held++;
      this.#held.set(slab.buffer.buffer, slab);
      this.#offset = buffer.byteOffset - slab.buffer.byteOffset + bytes;
      this.#socket?.emit('data', (buffer as Buffer).subarray(0, bytes));
      return true; // keep reading (false would pause the socket)
    },
  };

  /** The socket the reads belong to (known only once `net.connect` returns it). */
  attach(socket: Socket): void {
    this.#socket = socket;
    bySocket.set(socket, this);
  }

  /** At most this many bytes will be held at once (the relay's bound): free slabs beyond it are let go. */
  retain(bytes: number): void {
    this.#keep = Math.ceil(bytes / (SLAB_SIZE - MIN_READ)) + 1;
  }

  /** The consumer of this read (a chunk emitted as 'data') has no reference left to it. */
  release(chunk: Buffer): void {
    const slab = this.#held.get(chunk.buffer);
    if (!slab || --slab.held > 0) return;
    this.#held.delete(chunk.buffer);
    // The current slab is reused from its start by the next read; another goes back to the pool.
    if (slab !== this.#current && this.#free.length < this.#keep) {
      this.#free.push(slab);
      this.#poolUsed = performance.now();
    }
  }

  /** Slabs allocated so far, and slabs in the pool now (for tests). */
  get slabs(): { allocated: number; free: number } {
    return { allocated: this.#allocated, free: this.#free.length };
  }

  #slab(): Slab {
    this.#allocated++;
    return { buffer: Buffer.allocUnsafeSlow(SLAB_SIZE), held: 0 };
  }

  #next(): Uint8Array {
    const current = this.#current;
    if (current.held === 0) {
      this.#offset = 0;
      // A pool no backlog has drawn on for a while is let go: a session that once streamed to a
      // fast browser does not keep a megabyte of slabs through hours of quiet.
      if (this.#free.length > 0 && performance.now() - this.#poolUsed > POOL_IDLE_MS) this.#free.length = 0;
    } else if (SLAB_SIZE - this.#offset < MIN_READ) {
      const free = this.#free.pop();
      if (free) this.#poolUsed = performance.now();
      this.#current = free ?? this.#slab();
      this.#offset = 0;
    }
    return this.#current.buffer.subarray(this.#offset);
  }
}
