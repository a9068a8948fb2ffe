// A home line between the browser and Porthole: a TCP relay on loopback that limits the rate and
// delays every byte, in both directions, as a slow DSL or a congested Wi-Fi does. Chromium's own
// network emulation does not slow WebSockets, so the browser is pointed here instead
// (`--host-rules=MAP localhost:GATEWAY 127.0.0.1:RELAY`, see `hostRule`).
//
// Each direction is a bottleneck link: bytes leave at `bitsPerSecond` (serialised one after the
// other, as on the wire), then arrive `delayMs` later. Like a router's buffer, each direction
// holds at most `bufferBytes` not yet sent; beyond that the relay stops reading from the sender,
// so TCP's own flow control pushes back on it, as on a real line.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface SlowLineOptions {
  /** Where the relay forwards to, on loopback. */
  targetPort: number;
  bitsPerSecond: number;
  /** One way; the round trip is twice this. */
  delayMs: number;
  /** Bytes queued per direction before the sender is paused (default 64 KiB). */
  bufferBytes?: number;
}

export interface SlowLine {
  port: number;
  /** For Chromium's --host-rules: requests for localhost:targetPort go through the line. */
  hostRule: string;
  /** Bytes carried so far, per direction. */
  carried: { toServer: number; toBrowser: number };
  close(): Promise<void>;
}

/** Segments of at most this size are paced one by one, so a large write trickles out as on a wire. */
const SEGMENT = 1460;

interface Segment {
  bytes: Buffer;
  arrivesAt: number;
}

/** One direction of the line: from `source` to `sink`. */
class Direction {
  private readonly queue: Segment[] = [];
  private queuedBytes = 0;
  /** When the link finishes sending what is queued (ms, performance.now). */
  private linkFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private sourceEnded = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly options: Required<Omit<SlowLineOptions, 'targetPort'>>,
    private readonly count: (bytes: number) => void,
  ) {
    source.on('data', (chunk: Buffer) => this.accept(chunk));
    source.on('end', () => {
      this.sourceEnded = true;
      this.flushEnd();
    });
  }

  private accept(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += SEGMENT) {
      const bytes = chunk.subarray(at, at + SEGMENT);
      const now = performance.now();
      this.linkFreeAt = Math.max(this.linkFreeAt, now) + (bytes.length * 8 * 1000) / this.options.bitsPerSecond;
      this.queue.push({ bytes, arrivesAt: this.linkFreeAt + this.options.delayMs });
      this.queuedBytes += bytes.length;
    }
    if (this.queuedBytes > this.options.bufferBytes) this.source.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.arrivesAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliver();
    }, wait);
  }

  private deliver(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.arrivesAt <= now) {
      const { bytes } = this.queue.shift()!;
      this.queuedBytes -= bytes.length;
      if (this.sink.writable) this.sink.write(bytes);
      this.count(bytes.length);
    }
    if (this.queuedBytes <= this.options.bufferBytes && this.source.isPaused() && !this.source.destroyed) this.source.resume();
    this.flushEnd();
    this.schedule();
  }

  /** A half-close travels the line too: after the bytes before it. */
  private flushEnd(): void {
    if (this.sourceEnded && this.queue.length === 0 && this.sink.writable) this.sink.end();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

export async function startSlowLine(options: SlowLineOptions): Promise<SlowLine> {
  const settings = { bitsPerSecond: options.bitsPerSecond, delayMs: options.delayMs, bufferBytes: options.bufferBytes ?? 64 * 1024 };
  if (!(settings.bitsPerSecond > 0) || !(settings.delayMs >= 0))
    throw new Error('slow line: the rate must be positive and the delay not negative');
  const carried = { toServer: 0, toBrowser: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true }, (browserSide) => {
    const serverSide = connect({ host: '127.0.0.1', port: options.targetPort });
    const directions = [
      new Direction(browserSide, serverSide, settings, (n) => {
        carried.toServer += n;
      }),
      new Direction(serverSide, browserSide, settings, (n) => {
        carried.toBrowser += n;
      }),
    ];
    const sockets = [browserSide, serverSide];
    for (const s of sockets) {
      open.add(s);
      s.setNoDelay(true);
      // Either side failing ends the whole connection, as a dropped line would.
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        for (const d of directions) d.stop();
        for (const other of sockets) other.destroy();
      });
    }
    serverSide.on('connect', () => browserSide.resume());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    hostRule: `MAP localhost:${options.targetPort} 127.0.0.1:${port}`,
    carried,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of open) s.destroy();
      await closed;
    },
  };
}
