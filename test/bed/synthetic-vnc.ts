// A synthetic VNC desktop that a real browser client can show: RFB 3.8, security type None, a
// small framebuffer drawn as colour bands and sent in Raw encoding in whatever 32-bit pixel
// format the client asks for; incremental requests get a small changing square every 500 ms, so
// a session carries bytes while it is open. For browser tests of what surrounds a display (the
// admin console, the viewer's messages) without a QEMU guest or libvirtd. Not a full RFB
// server: 8- and 16-bit pixel formats and every encoding but Raw are ignored (noVNC asks for
// 32-bit true colour and accepts Raw).
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface SyntheticVnc {
  port: number;
  close(): Promise<void>;
}

const WIDTH = 640;
const HEIGHT = 400;
const TICK_MS = 500;
/** Left to right: what the screen shows (blue, green, orange, grey). */
const BANDS: Array<[number, number, number]> = [
  [31, 111, 235],
  [27, 127, 59],
  [230, 126, 34],
  [120, 130, 140],
];

interface PixelFormat {
  bigEndian: boolean;
  shifts: [number, number, number];
  max: [number, number, number];
}

function serverInit(name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(24 + n.length);
  b.writeUInt16BE(WIDTH, 0);
  b.writeUInt16BE(HEIGHT, 2);
  b.set([32, 24, 0, 1], 4); // 32 bpp, depth 24, little-endian, true colour
  b.writeUInt16BE(255, 8);
  b.writeUInt16BE(255, 10);
  b.writeUInt16BE(255, 12);
  b.set([16, 8, 0], 14);
  b.writeUInt32BE(n.length, 20);
  n.copy(b, 24);
  return b;
}

function rect(
  x: number,
  y: number,
  w: number,
  h: number,
  colour: (px: number, py: number) => [number, number, number],
  format: PixelFormat,
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(x, 0);
  header.writeUInt16BE(y, 2);
  header.writeUInt16BE(w, 4);
  header.writeUInt16BE(h, 6);
  header.writeInt32BE(0, 8); // Raw
  const pixels = Buffer.alloc(w * h * 4);
  for (let py = 0; py < h; py++)
    for (let px = 0; px < w; px++) {
      const [r, g, b] = colour(x + px, y + py);
      const value =
        (((r * format.max[0]) / 255) << format.shifts[0]) |
        (((g * format.max[1]) / 255) << format.shifts[1]) |
        (((b * format.max[2]) / 255) << format.shifts[2]);
      if (format.bigEndian) pixels.writeUInt32BE(value >>> 0, (py * w + px) * 4);
      else pixels.writeUInt32LE(value >>> 0, (py * w + px) * 4);
    }
  return Buffer.concat([header, pixels]);
}

function update(rects: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(rects.length, 2);
  return Buffer.concat([head, ...rects]);
}

const band = (px: number): [number, number, number] => BANDS[Math.min(BANDS.length - 1, Math.floor((px * BANDS.length) / WIDTH))]!;

function serve(socket: Socket, name: string): void {
  let format: PixelFormat = { bigEndian: false, shifts: [16, 8, 0], max: [255, 255, 255] };
  let buffered = Buffer.alloc(0);
  let stage: 'version' | 'security' | 'init' | 'normal' = 'version';
  let frame = 0;
  let pending: NodeJS.Timeout | undefined;
  socket.on('error', () => {});
  socket.on('close', () => clearTimeout(pending));
  socket.write('RFB 003.008\n');

  const take = (n: number): Buffer | undefined => {
    if (buffered.length < n) return undefined;
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };

  const onRequest = (incremental: boolean) => {
    if (!incremental) {
      socket.write(update([rect(0, 0, WIDTH, HEIGHT, band, format)]));
      return;
    }
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      frame++;
      const shade = frame % 2 ? 255 : 40;
      socket.write(update([rect(20, 20, 24, 24, () => [shade, shade, shade], format)]));
    }, TICK_MS);
  };

  socket.on('data', (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    for (;;) {
      if (stage === 'version') {
        if (!take(12)) return;
        socket.write(Buffer.from([1, 1])); // one security type: None
        stage = 'security';
      } else if (stage === 'security') {
        if (!take(1)) return;
        socket.write(Buffer.alloc(4)); // SecurityResult OK
        stage = 'init';
      } else if (stage === 'init') {
        if (!take(1)) return;
        socket.write(serverInit(name));
        stage = 'normal';
      } else {
        const type = buffered[0];
        if (type === undefined) return;
        if (type === 0) {
          const m = take(20);
          if (!m) return;
          if (m[4] === 32 && m[7] === 1)
            format = {
              bigEndian: m[6] !== 0,
              shifts: [m[14]!, m[15]!, m[16]!],
              max: [m.readUInt16BE(8), m.readUInt16BE(10), m.readUInt16BE(12)],
            };
        } else if (type === 2) {
          if (buffered.length < 4) return;
          if (!take(4 + 4 * buffered.readUInt16BE(2))) return;
        } else if (type === 3) {
          const m = take(10);
          if (!m) return;
          onRequest(m[1] !== 0);
        } else if (type === 4) {
          if (!take(8)) return;
        } else if (type === 5) {
          if (!take(6)) return;
        } else if (type === 6) {
          if (buffered.length < 8) return;
          if (!take(8 + buffered.readUInt32BE(4))) return;
        } else {
          // A message this server does not know (a QEMU extension): it cannot find the next one.
          socket.destroy();
          return;
        }
      }
    }
  });
}

/** Starts a synthetic VNC desktop on a free loopback port. */
export async function startSyntheticVnc(name = 'synthetic'): Promise<SyntheticVnc> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    serve(s, name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
