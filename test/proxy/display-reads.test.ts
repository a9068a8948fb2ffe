// Reads from a display into reused slabs, on a real socket: a read is never overwritten while
// its consumer holds it, released reads come back (no fresh buffer per read, which is what made
// V8 mark the whole heap again and again), and the pool stays within what the relay may hold.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { DisplayReads, SLAB_SIZE } from '../../proxy/display-reads.js';
import { waitFor } from '../bed/deadline.js';

/** A server that writes `total` bytes, byte p being p % 251, in pieces of `piece`, each after the last is read. */
async function patternedStream(total: number, piece: number) {
  const server = createServer((socket: Socket) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(piece, total - sent);
        const chunk = Buffer.alloc(n);
        for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251;
        sent += n;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

function openWithReads(port: number): { socket: Socket; reads: DisplayReads } {
  const reads = new DisplayReads();
  const socket = connect({ host: '127.0.0.1', port, onread: reads.onread });
  reads.attach(socket);
  return { socket, reads };
}

/** Checks that `chunk`, which started at stream position `at`, still holds the pattern. */
function intact(chunk: Buffer, at: number): string | undefined {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (at + i) % 251) return `byte ${at + i}: ${chunk[i]}`;
  return undefined;
}

test('reads released at once reuse one slab: 4 MB through a single 64 KiB buffer', async () => {
  const { server, port } = await patternedStream(4_000_000, 16 * 1024);
  try {
    const { socket, reads } = openWithReads(port);
    let position = 0;
    let wrong: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      wrong ??= intact(chunk, position);
      position += chunk.length;
      reads.release(chunk);
    });
    await new Promise((r) => socket.once('end', r));
    socket.destroy();
    assert.equal(wrong, undefined);
    assert.equal(position, 4_000_000);
    assert.equal(reads.slabs.allocated, 1);
  } finally {
    server.close();
  }
});

test('reads held by a slow consumer are never overwritten, and come back to the pool once released', async () => {
  const total = 6_000_000;
  const bound = 512 * 1024;
  const { server, port } = await patternedStream(total, 5000);
  try {
    const { socket, reads } = openWithReads(port);
    reads.retain(bound);
    // Hold reads up to the bound (what a backlog towards a slow browser holds), release the
    // oldest down to half of it, and check each read is still intact when it is released.
    const held: { chunk: Buffer; at: number }[] = [];
    let heldBytes = 0;
    let position = 0;
    let wrong: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      held.push({ chunk, at: position });
      heldBytes += chunk.length;
      position += chunk.length;
      while (heldBytes >= bound) {
        const { chunk: c, at } = held.shift()!;
        wrong ??= intact(c, at);
        heldBytes -= c.length;
        reads.release(c);
        if (heldBytes < bound / 2) break;
      }
    });
    await new Promise((r) => socket.once('end', r));
    socket.destroy();
    for (const { chunk, at } of held) wrong ??= intact(chunk, at);
    assert.equal(wrong, undefined);
    assert.equal(position, total);
    // Without reuse, 6 MB in reads of at most 64 KiB is 92 slabs or more; with it, the slabs
    // of what is held at once (the bound and a read), and the pool kept for the next backlog.
    const perBound = Math.ceil(bound / (SLAB_SIZE - 16 * 1024)) + 1;
    const { allocated, free } = reads.slabs;
    assert.ok(allocated <= 2 * perBound + 1, `${allocated} slabs allocated for ${total} bytes`);
    assert.ok(free <= perBound, `${free} slabs kept free`);
  } finally {
    server.close();
  }
});

test('reads never released (a handshake keeps what it reads) are never reused', async () => {
  const total = 600_000;
  const { server, port } = await patternedStream(total, 20_000);
  try {
    const { socket, reads } = openWithReads(port);
    const kept: { chunk: Buffer; at: number }[] = [];
    let position = 0;
    socket.on('data', (chunk: Buffer) => {
      kept.push({ chunk, at: position });
      position += chunk.length;
    });
    await new Promise((r) => socket.once('end', r));
    socket.destroy();
    await waitFor(() => position === total, 5000, 'every byte read');
    for (const { chunk, at } of kept) assert.equal(intact(chunk, at), undefined);
    assert.ok(reads.slabs.allocated >= Math.ceil(total / SLAB_SIZE), 'each slab filled once, then a fresh one');
  } finally {
    server.close();
  }
});

test('a pool no backlog has drawn on for five seconds is let go at the next read', async () => {
  let peer!: Socket;
  const connected = new Promise<void>((r) => {
    const server = createServer((s) => {
      peer = s;
      r();
    });
    server.listen(0, '127.0.0.1', () => {
      const { socket, reads } = openWithReads((server.address() as AddressInfo).port);
      void run(socket, reads).finally(() => {
        socket.destroy();
        peer?.destroy();
        server.close();
      });
    });
  });
  let outcome!: (e?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    outcome = (e) => (e ? reject(e as Error) : resolve());
  });
  async function run(socket: Socket, reads: DisplayReads) {
    try {
      reads.retain(512 * 1024);
      await connected;
      // A backlog: 1 MB read while nothing is released, then all of it released at once.
      const held: Buffer[] = [];
      let got = 0;
      socket.on('data', (chunk: Buffer) => {
        held.push(chunk);
        got += chunk.length;
      });
      peer.write(Buffer.alloc(1_000_000, 7));
      await waitFor(() => got === 1_000_000, 5000, 'the burst read');
      for (const chunk of held.splice(0)) reads.release(chunk);
      assert.ok(reads.slabs.free > 0, 'the backlog left slabs in the pool');
      await new Promise((r) => setTimeout(r, 5200));
      socket.removeAllListeners('data');
      socket.on('data', (chunk: Buffer) => {
        got += chunk.length;
        reads.release(chunk);
      });
      peer.write(Buffer.alloc(100, 7));
      peer.write(Buffer.alloc(100, 7));
      await waitFor(() => got === 1_000_200 && reads.slabs.free === 0, 5000, 'the pool let go after the quiet');
      outcome();
    } catch (error) {
      outcome(error);
    }
  }
  await done;
});
