// The slow line itself: bytes arrive intact and in order, never sooner than the delay allows nor
// faster than the rate allows, and closing it leaves nothing listening. Only lower bounds on time
// are checked: the relay cannot beat them, while a loaded machine may always be slower.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { startSlowLine } from './slow-line.js';

async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function readExactly(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= length) resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
  });
}

test('the slow line delays each direction, limits the rate, keeps bytes in order and closes cleanly', async () => {
  const echo = await echoServer();
  const line = await startSlowLine({ targetPort: echo.port, bitsPerSecond: 1_000_000, delayMs: 75 });
  assert.equal(line.hostRule, `MAP localhost:${echo.port} 127.0.0.1:${line.port}`);
  const client = connect({ host: '127.0.0.1', port: line.port });
  await new Promise((r) => client.once('connect', r));

  // One byte there and back: at least the round trip, 150 ms.
  let started = performance.now();
  const ping = readExactly(client, 1);
  client.write(Buffer.from([7]));
  assert.deepEqual(await ping, Buffer.from([7]));
  const rtt = performance.now() - started;
  assert.ok(rtt >= 150, `a round trip took ${rtt.toFixed(0)} ms, less than the line's 150 ms`);
  client.removeAllListeners('data');

  // 125,000 bytes at 1 Mbit/s: at least 1 s each way (the two directions overlap).
  const payload = randomBytes(125_000);
  started = performance.now();
  const back = readExactly(client, payload.length);
  client.write(payload);
  const received = await back;
  const elapsed = performance.now() - started;
  assert.ok(received.equals(payload), 'the bytes came back intact and in order');
  assert.ok(elapsed >= 1000 + 150, `125 kB took ${elapsed.toFixed(0)} ms at 1 Mbit/s, faster than the line allows`);
  assert.ok(line.carried.toServer >= payload.length + 1 && line.carried.toBrowser >= payload.length + 1);

  // Closing the line ends the connections through it (the client sees its socket close).
  const clientClosed = new Promise((r) => client.once('close', r));
  await line.close();
  await clientClosed;
  await echo.close();
  const refused = connect({ host: '127.0.0.1', port: line.port });
  const error = await new Promise<NodeJS.ErrnoException>((r) => refused.once('error', r));
  assert.equal(error.code, 'ECONNREFUSED', 'nothing listens after close');
});
