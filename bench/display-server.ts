// A synthetic VNC display for benchmarks: the RFB 3.8 handshake with security type None, a
// ServerInit, then, by mode: framebuffer-sized data streamed as fast as the reader takes it
// (`stream`, the display direction), every byte received sent back (`echo`, round trips and
// idle sessions), everything received taken and dropped (`sink`, the input direction), or
// 20 Mbit/s, paced, as a busy desktop sends it (`paced`, the capacity test).
// After the handshake the proxy relays bytes without looking at them, so content does not matter.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type DisplayMode = 'stream' | 'echo' | 'sink' | 'paced';

/** The rate of one desktop in the capacity test: 20 Mbit/s, sent in ticks of 10 ms. */
export const PACED_BYTES_PER_SECOND = 2_500_000;
const PACED_TICK_MS = 10;

export interface DisplayServer {
  port: number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(256 * 1024, 0x5a);
export const MIB = 1024 * 1024;

function serverInit(): Buffer {
  const name = Buffer.from('bench');
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(1920, 0);
  b.writeUInt16BE(1080, 2);
  b[4] = 32;
  b[5] = 24;
  b[7] = 1; // 32 bpp, depth 24, true colour
  b.writeUInt16BE(255, 8);
  b.writeUInt16BE(255, 10);
  b.writeUInt16BE(255, 12);
  b[14] = 16;
  b[15] = 8;
  b[16] = 0;
  b.writeUInt32BE(name.length, 20);
  name.copy(b, 24);
  return b;
}

function serve(socket: Socket, mode: DisplayMode): void {
  socket.setNoDelay(true);
  let stage = 0;
  let buffered = Buffer.alloc(0);
  socket.write('RFB 003.008\n');
  const pump = () => {
    while (socket.writable && socket.write(CHUNK));
  };
  // sink: one byte back per MiB taken in, so the sender knows when its data has arrived.
  let received = 0;
  const acknowledge = (n: number) => {
    const before = Math.floor(received / MIB);
    received += n;
    const acks = Math.floor(received / MIB) - before;
    if (acks > 0) socket.write(Buffer.alloc(acks, 1));
  };
  socket.on('drain', () => {
    if (stage === 3 && mode === 'stream') pump();
  });
  socket.on('data', (data: Buffer) => {
    if (stage === 3) {
      if (mode === 'echo') socket.write(data);
      if (mode === 'sink') acknowledge(data.length);
      return; // stream: input from the client is dropped
    }
    buffered = Buffer.concat([buffered, data]);
    if (stage === 0 && buffered.length >= 12) {
      buffered = buffered.subarray(12);
      socket.write(Buffer.from([1, 1]));
      stage = 1;
    }
    if (stage === 1 && buffered.length >= 1) {
      buffered = buffered.subarray(1);
      socket.write(Buffer.alloc(4));
      stage = 2;
    }
    if (stage === 2 && buffered.length >= 1) {
      buffered = buffered.subarray(1);
      socket.write(serverInit());
      stage = 3;
      if (mode === 'stream') pump();
      else if (mode === 'paced') pace(socket);
      else if (mode === 'echo' && buffered.length > 0) socket.write(buffered);
    }
  });
  socket.on('error', () => socket.destroy());
}

/** Writes PACED_BYTES_PER_SECOND in ticks; a tick whose socket is still full is skipped (the reader is slow). */
function pace(socket: Socket): void {
  const tick = CHUNK.subarray(0, (PACED_BYTES_PER_SECOND * PACED_TICK_MS) / 1000);
  const timer = setInterval(() => {
    if (!socket.writable) return clearInterval(timer);
    if (socket.writableLength === 0) socket.write(tick);
  }, PACED_TICK_MS);
  socket.once('close', () => clearInterval(timer));
}

export async function startDisplayServer(mode: DisplayMode = 'stream'): Promise<DisplayServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    serve(s, mode);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
