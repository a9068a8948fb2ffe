// Slowloris against the running gateway: many TLS connections that send a WebSocket upgrade's
// headers one line every 2 s and never finish are cut off once header reading has taken 10 s,
// and an ordinary HTTPS request answers quickly all the while.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { waitFor, withDeadline } from '../bed/deadline.js';

const CONNECTIONS = 50;
const LINE_EVERY_MS = 2_000;
/** gateway/app.ts bounds header reading to 10 s; Node checks once a second. */
const HEADERS_TIMEOUT_MS = 10_000;
const SLACK_MS = 2_000;

/** One slow client: when it began sending, when the server closed it, and what it answered. */
interface SlowClient {
  socket: TLSSocket;
  startedAt: number;
  closedAt?: number;
  answer: string;
  /** Header lines sent so far. */
  lines: number;
  closed: Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'porthole-slowloris-'));
const sockets: TLSSocket[] = [];
const timers: NodeJS.Timeout[] = [];
let gw: RunningGateway | undefined;

before(async () => {
  const libvirt = writeTestDriver(join(dir, 'node.xml'), []);
  gw = await startTestGateway({ libvirt, users: [{ name: 'alice', password: 'alice-password', role: 'user' }] });
});

after(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.destroy();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The upgrade a browser would send, then made-up header lines for ever. */
function headerLine(gateway: RunningGateway, n: number): string {
  const upgrade = [
    'GET /ws/vnc?token=x HTTP/1.1',
    `Host: localhost:${gateway.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Origin: ${gateway.origin}`,
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
  ];
  return `${upgrade[n] ?? `X-Still-Coming-${n}: ${'a'.repeat(20)}`}\r\n`;
}

function openSlowClient(gateway: RunningGateway): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: gateway.port, servername: 'localhost', ca: gateway.ca });
    sockets.push(socket);
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // a write racing the server's close
      const send = () => socket.write(headerLine(gateway, client.lines++));
      const client: SlowClient = {
        socket,
        startedAt: performance.now(),
        answer: '',
        lines: 0,
        closed: new Promise((done) =>
          socket.once('close', () => {
            client.closedAt = performance.now();
            clearInterval(timer);
            done();
          }),
        ),
      };
      socket.on('data', (chunk: Buffer) => {
        client.answer += chunk.toString('latin1');
      });
      send();
      const timer = setInterval(send, LINE_EVERY_MS);
      timers.push(timer);
      resolve(client);
    });
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

test(
  `${CONNECTIONS} connections dribbling upgrade headers are closed after the headers timeout; HTTPS answers meanwhile`,
  { timeout: 120_000 },
  async () => {
    const gateway = gw!;
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => openSlowClient(gateway)));
    console.log(`# ${CONNECTIONS} slow connections open, one header line every ${LINE_EVERY_MS / 1000} s each`);

    // While the slow clients send their 2nd, 3rd and 5th lines (about 2, 4 and 8 s in), HTTPS answers.
    for (const lines of [2, 3, 5]) {
      await waitFor(
        () => clients.every((c) => c.lines >= lines || c.closedAt !== undefined),
        60_000,
        `every slow client to send ${lines} header lines`,
        50,
      );
      const stillOpen = clients.filter((c) => c.closedAt === undefined).length;
      const at = performance.now() - clients[0]!.startedAt;
      const started = performance.now();
      const health = await gateway.api('GET', '/healthz');
      const latency = performance.now() - started;
      console.log(
        `# GET /healthz at ${seconds(at)}, with ${stillOpen} slow connections open: ${health.status} in ${latency.toFixed(1)} ms`,
      );
      assert.equal(health.status, 200);
      const early = clients.filter((c) => c.closedAt !== undefined && c.closedAt - c.startedAt < HEADERS_TIMEOUT_MS - 1_000).length;
      assert.equal(early, 0, 'no slow connection closed before the headers timeout');
    }

    // A generous deadline against a hang; how long the server took is printed, not asserted.
    const deadline = HEADERS_TIMEOUT_MS + SLACK_MS + 30_000;
    await withDeadline(Promise.all(clients.map((c) => c.closed)), deadline, 'the server to close every slow connection').catch(() => {});
    const open = clients.filter((c) => c.closedAt === undefined).length;
    const held = clients
      .filter((c) => c.closedAt !== undefined)
      .map((c) => c.closedAt! - c.startedAt)
      .sort((a, b) => a - b);
    if (held.length > 0) {
      console.log(
        `# closed by the server after ${seconds(held[0]!)} (first), ${seconds(held[Math.floor(held.length / 2)]!)} (median), ` +
          `${seconds(held[held.length - 1]!)} (last); ${clients.filter((c) => c.answer.startsWith('HTTP/1.1 408')).length} answered 408`,
      );
    }
    assert.equal(open, 0, `${open} slow connections still open after ${seconds(deadline)}`);
    for (const ms of held) {
      // Only the lower bound is checked: a loaded machine makes the close later, never earlier.
      assert.ok(ms >= HEADERS_TIMEOUT_MS - 1_000, `closed after ${seconds(ms)}, before the headers timeout`);
    }
    for (const c of clients) assert.match(c.answer, /^HTTP\/1\.1 408 /, 'the server timed the headers out');
    // Still serving after the flood.
    assert.equal((await gateway.api('GET', '/healthz')).status, 200);
  },
);
