// The running gateway's HTTPS: what a browser's connections get from it.
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';

let gw: RunningGateway;

before(async () => {
  gw = await startTestGateway({ libvirt: 'test:///default', users: [] });
});
after(() => gw?.close());

/**
 * A finished TLS handshake with the gateway, offering `session` to resume, and the session ticket
 * the gateway sends after it (TLS 1.3 sends tickets after the handshake, and none after a resumption).
 */
function handshake(session?: Buffer): Promise<{ socket: TLSSocket; ticket: Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: gw.ca, ...(session ? { session } : {}) });
    const ticket = new Promise<Buffer>((resolveTicket, rejectTicket) => {
      const timer = setTimeout(() => rejectTicket(new Error('the gateway sent no TLS session ticket within 5 s')), 5000).unref();
      socket.once('session', (t: Buffer) => {
        clearTimeout(timer);
        resolveTicket(t);
      });
    });
    ticket.catch(() => {}); // only the first connection's ticket is awaited
    socket.once('secureConnect', () => resolve({ socket, ticket }));
    socket.once('error', reject);
  });
}

test("TLS sessions resume: a desktop's connections after the first skip the certificate exchange", async () => {
  const first = await handshake();
  const ticket = await first.ticket;
  assert.equal(first.socket.isSessionReused(), false);
  first.socket.destroy();
  for (let i = 0; i < 3; i++) {
    const { socket } = await handshake(ticket);
    assert.equal(socket.isSessionReused(), true, `connection ${i + 2} resumed`);
    socket.destroy();
  }
});

/** A raw HTTP/1.1 request over TLS; resolves with everything the gateway sent before it closed. */
function rawRequest(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: gw.port, servername: 'localhost', ca: gw.ca }, () => socket.end(request));
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

test("what Node's HTTP parser or the file server refuses is answered with a sentence as well: oversized headers, malformed HTTP, traversal", async () => {
  const cases: Array<[string, number]> = [
    ['GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 403],
    [`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n', 400],
    ['NOT HTTP AT ALL\r\n\r\n', 400],
  ];
  for (const [request, status] of cases) {
    const answer = await rawRequest(request);
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer.slice(0, 80));
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error']);
    assert.match(body.error as string, /^[A-Z].*\.$/);
  }
  assert.equal((await fetchHealth()).status, 'ok', 'the gateway goes on serving');
});

async function fetchHealth(): Promise<{ status: string }> {
  const answer = await rawRequest('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { status: string };
}
