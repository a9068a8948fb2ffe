// Behind a real load balancer: HAProxy (TCP mode, PROXY protocol) in front of two nodes sharing
// Redis. The client's own address (127.0.0.2 here, the balancer being 127.0.0.1) is what the
// token is bound to and what the proxy checks; a PROXY line or X-Forwarded-For from a peer that
// is not a trusted proxy is ignored.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { freePort } from '../bed/ports.js';
import { startHaProxy, type HaProxy } from '../bed/haproxy.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../bed/redis.js';
import { recordSecret, recordToken } from '../bed/secret-record.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESKTOP = '88888888-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-haproxy-test-'));
let redis: RedisServer;
let display: DisplayServer;
let lb: HaProxy;
let nodes: RunningGateway[] = [];
let lbPort: number;

before(async () => {
  redis = await startRedis();
  display = await startDisplayServer('echo');
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } },
  ])}`;
  lbPort = await freePort();
  const env = {
    PORTHOLE_REDIS: redis.url,
    PORTHOLE_WORKERS: '1',
    PORTHOLE_TRUSTED_PROXIES: '127.0.0.1',
    PORTHOLE_ALLOWED_ORIGINS: `https://localhost:${lbPort}`,
  };
  const users = [{ name: 'alice', password: 'alice-haproxy-pw', role: 'user' as const }];
  nodes = [
    await startTestGateway({ libvirt, users, dataDir: join(dir, 'data'), env }),
    await startTestGateway({ libvirt, users: [], dataDir: join(dir, 'data'), env }),
  ];
  lb = await startHaProxy(
    nodes.map((n) => n.port),
    lbPort,
  );
});
after(async () => {
  await lb?.close();
  for (const n of nodes) await n.close();
  await display?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An API call from `localAddress` to `port`, as a browser on `origin` makes it. */
function call(
  port: number,
  origin: string,
  method: string,
  path: string,
  options: { cookie?: string; body?: unknown; localAddress?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: nodes[0]!.ca,
        method,
        path,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        headers: {
          origin,
          ...(options.cookie ? { cookie: options.cookie } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => {
          const cookie = res.headers['set-cookie']?.find((c) => c.startsWith('porthole_session='))?.split(';')[0];
          recordSecret('sign-in cookie', cookie?.split('=')[1]);
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, ...(cookie ? { cookie } : {}) });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { ip?: string };

test('through HAProxy the token is bound to the client, not the balancer, and the connection from the client is admitted', async () => {
  const origin = `https://localhost:${lbPort}`;
  const from = { localAddress: '127.0.0.2' };
  const signIn = await call(lbPort, origin, 'POST', '/api/login', { ...from, body: { username: 'alice', password: 'alice-haproxy-pw' } });
  assert.equal(signIn.status, 200);
  for (let i = 0; i < 2; i++) {
    // Round robin: one connect through each node.
    const res = await call(lbPort, origin, 'POST', `/api/desktops/${DESKTOP}/connect`, {
      ...from,
      cookie: signIn.cookie!,
      body: { protocols: ['vnc'] },
    });
    assert.equal(res.status, 200);
    const [attempt] = (res.body as { attempts: Array<{ url: string; token: string }> }).attempts;
    recordToken(attempt!.token);
    assert.equal(claimsOf(attempt!.token).ip, '127.0.0.2', 'bound to the client behind the balancer');
    const reader = new WireReader(
      nodes[0]!.webSocket(attempt!.url.replace(/:\d+\//, `:${lbPort}/`), { cookie: signIn.cookie!, origin, localAddress: '127.0.0.2' }),
    );
    await vncHandshake(reader);
    reader.ws.close();
  }
});

test('a PROXY line or X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
  const direct = nodes[0]!;
  const signIn = await call(direct.port, direct.origin, 'POST', '/api/login', {
    localAddress: '127.0.0.3',
    body: { username: 'alice', password: 'alice-haproxy-pw' },
    headers: { 'x-forwarded-for': '198.51.100.1' },
  });
  assert.equal(signIn.status, 200);
  const res = await call(direct.port, direct.origin, 'POST', `/api/desktops/${DESKTOP}/connect`, {
    localAddress: '127.0.0.3',
    cookie: signIn.cookie!,
    body: { protocols: ['vnc'] },
    headers: { 'x-forwarded-for': '198.51.100.1' },
  });
  const [attempt] = (res.body as { attempts: Array<{ token: string }> }).attempts;
  recordToken(attempt!.token);
  assert.equal(claimsOf(attempt!.token).ip, '127.0.0.3', 'X-Forwarded-For from an untrusted peer names nobody');

  // A forged PROXY line from 127.0.0.3 is not read as one: the TLS handshake fails on it.
  const failed = await new Promise<string>((resolve) => {
    const raw = tcpConnect({ host: '127.0.0.1', port: direct.port, localAddress: '127.0.0.3' }, () => {
      raw.write('PROXY TCP4 127.0.0.2 127.0.0.1 5555 443\r\n');
      const secure = tlsConnect({ socket: raw, servername: 'localhost', ca: direct.ca }, () => resolve('handshake completed'));
      secure.on('error', (error) => resolve(`refused: ${error.message}`));
    });
  });
  assert.match(failed, /^refused/);
});
