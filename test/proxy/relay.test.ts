// Backpressure on real sockets: a reader that stops reading must stop the writer on the other
// side, and the proxy's own buffers must stay bounded meanwhile.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '../../contract/close-codes.js';
import { Relay, type DisplayLoss } from '../../proxy/relay.js';
import { waitFor } from '../bed/deadline.js';

const HWM = 256 * 1024;
const CHUNK = 64 * 1024;
const limits = { idleTimeoutMs: 60_000, maxDurationMs: 60_000, highWaterMark: HWM };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long a test watches for something that must NOT happen (no event marks its absence). */
const OBSERVE_MS = 500;

interface Bed {
  relay: Promise<Relay>;
  /** The proxy's own two ends: the WebSocket towards the browser and the socket towards the display. */
  proxySide: Promise<{ ws: WebSocket; socket: Socket }>;
  client: WebSocket;
  display: Promise<Socket>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** A display server, a WebSocket server relaying to it, and a client. */
async function bed(options: { idleTimeoutMs?: number; displayLoss?: DisplayLoss } = {}): Promise<Bed> {
  let displaySide!: (s: Socket) => void;
  const display = new Promise<Socket>((r) => {
    displaySide = r;
  });
  const tcp = createServer((s) => displaySide(s));
  const tcpPort = await listen(tcp);
  let made!: (r: Relay) => void;
  const relay = new Promise<Relay>((r) => {
    made = r;
  });
  let sides!: (s: { ws: WebSocket; socket: Socket }) => void;
  const proxySide = new Promise<{ ws: WebSocket; socket: Socket }>((r) => {
    sides = r;
  });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    const socket = connect({ host: '127.0.0.1', port: tcpPort }, () => {
      const { displayLoss, ...more } = options;
      const r = new Relay(ws, socket, { ...limits, ...more }, undefined, undefined, displayLoss);
      r.start([], []);
      made(r);
      sides({ ws, socket });
    });
  });
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise((r, j) => {
    client.once('open', r);
    client.once('error', j);
  });
  return {
    relay,
    client,
    display,
    proxySide,
    async close() {
      client.terminate();
      (await display).destroy();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => tcp.close(r));
    },
  };
}

test('a browser that stops reading stops the display, and the proxy buffers stay bounded', async (t) => {
  const b = await bed();
  t.after(() => b.close());
  const display = await b.display;
  const relay = await b.relay;
  let written = 0;
  let flooding = true;
  const flood = () => {
    while (flooding && display.write(Buffer.alloc(CHUNK, 1))) written += CHUNK;
    if (flooding) {
      written += CHUNK;
      display.once('drain', flood);
    }
  };
  b.client.pause(); // the browser tab stops reading
  flood();
  // Wait until the proxy stopped reading from the display, the display's writes wait for drain, and
  // nothing more was written for half a second: until then the kernel's buffers between the two
  // may still take what the display's own buffer hands them (a loaded machine drains them late).
  const { socket: towardsDisplay } = await b.proxySide;
  let seen = -1;
  let still = 0;
  const stoppedIn = await waitFor(
    () => {
      still = written === seen ? still + 1 : 0;
      seen = written;
      return towardsDisplay.isPaused() && display.writableNeedDrain && still >= 5;
    },
    30_000,
    'the proxy to stop reading from the display',
    100,
  );
  const plateau = written;
  let maxBuffered = relay.bufferedBytes;
  // Then watch: nothing more may be written, and the proxy's buffer stays bounded.
  for (let i = 0; i < 10; i++) {
    await sleep(OBSERVE_MS / 10);
    maxBuffered = Math.max(maxBuffered, relay.bufferedBytes);
  }
  console.log(`# the display was held back within ${stoppedIn} ms of the flood (0.5 s of it to see it stay so)`);
  assert.equal(written, plateau, 'the display kept writing although the browser read nothing');
  assert.ok(maxBuffered <= HWM + CHUNK, `proxy buffered ${maxBuffered} bytes, bound ${HWM + CHUNK}`);
  console.log(
    `# display stopped after ${(plateau / 1048576).toFixed(1)} MiB (kernel buffers included); proxy held at most ${(maxBuffered / 1024).toFixed(0)} KiB`,
  );

  // Reading again delivers every byte, in order, and the flow resumes.
  flooding = false;
  let received = 0;
  b.client.on('message', (data: Buffer) => {
    received += data.length;
  });
  b.client.resume();
  await waitFor(() => received >= written, 30_000, `all ${written} bytes to reach the browser (${received} so far)`);
  assert.equal(received, written);
  assert.equal(relay.bytesToClient, written);
});

test('a display that stops reading stops the browser leg, and the proxy buffers stay bounded', async (t) => {
  const b = await bed();
  t.after(() => b.close());
  const display = await b.display;
  const relay = await b.relay;
  display.pause(); // the guest's display stops reading
  const message = Buffer.alloc(CHUNK, 2);
  let maxBuffered = 0;
  for (let i = 0; i < 400; i++) {
    if (b.client.bufferedAmount < 8 * 1024 * 1024) b.client.send(message);
    if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // let the sockets move
    maxBuffered = Math.max(maxBuffered, relay.bufferedBytes);
  }
  // Wait until the proxy stopped reading from the browser, and the browser's sends queue up.
  const { ws: towardsBrowser } = await b.proxySide;
  await waitFor(
    () => {
      maxBuffered = Math.max(maxBuffered, relay.bufferedBytes);
      return towardsBrowser.isPaused && b.client.bufferedAmount > 0;
    },
    30_000,
    'the proxy to stop reading from the browser',
  );
  maxBuffered = Math.max(maxBuffered, relay.bufferedBytes);
  assert.ok(b.client.bufferedAmount > 0, 'the browser side should be held back');
  assert.ok(maxBuffered <= HWM + CHUNK, `proxy buffered ${maxBuffered} bytes, bound ${HWM + CHUNK}`);
  console.log(
    `# browser held back with ${(b.client.bufferedAmount / 1048576).toFixed(1)} MiB unsent; proxy held at most ${(maxBuffered / 1024).toFixed(0)} KiB`,
  );
});

test('idle connections are closed with a reason a person can read', async (t) => {
  const b = await bed({ idleTimeoutMs: 300 });
  t.after(() => b.close());
  const [code, reason] = await new Promise<[number, string]>((r) => b.client.once('close', (c, why) => r([c, why.toString()])));
  assert.equal(code, 4408);
  assert.match(reason, /without activity/);
});

test('text frames from the browser close the connection with a reason', async (t) => {
  const b = await bed();
  t.after(() => b.close());
  await b.relay;
  b.client.send('hello');
  const [code, reason] = await new Promise<[number, string]>((r) => b.client.once('close', (c, why) => r([c, why.toString()])));
  assert.equal(code, 4400);
  assert.match(reason, /text where the display protocol is binary/);
});

test('a display that closes on its own is explained to the browser by its DisplayLoss (the desktop moved host), or else as closed', async (t) => {
  for (const moved of [true, false]) {
    const asked: number[] = [];
    const b = await bed({
      displayLoss: async () => {
        asked.push(Date.now());
        return moved ? { code: CloseCode.moved, reason: 'The desktop is moving to another host.', detail: 'moved' } : undefined;
      },
    });
    t.after(() => b.close());
    const closed = new Promise<[number, string]>((r) => b.client.once('close', (code, reason) => r([code, reason.toString()])));
    (await b.display).destroy();
    const [code, reason] = await closed;
    assert.equal(asked.length, 1, 'asked once, however many ways the display said it ended');
    if (moved) assert.deepEqual([code, reason], [CloseCode.moved, 'The desktop is moving to another host.']);
    else assert.deepEqual([code, reason], [CloseCode.normal, "The desktop's display closed the connection."]);
  }
});

test('a browser that leaves is not a display loss: its DisplayLoss is not asked', async (t) => {
  let asked = 0;
  const b = await bed({
    displayLoss: async () => {
      asked++;
      return undefined;
    },
  });
  t.after(() => b.close());
  const relay = await b.relay;
  b.client.close(1000, 'bye');
  const end = await relay.done;
  assert.equal(end.detail, 'browser closed');
  assert.equal(asked, 0);
});
