// The broker's HTTP API through Fastify's inject, with the inventory read from libvirt's test
// driver (real libvirt API, no daemon).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type GatewayServices } from '../../gateway/app.js';
import { CertificatePins } from '../../proxy/tls/certificate-pins.js';
import { AuditLog } from '../../gateway/audit-log.js';
import { DeviceCookies } from '../../gateway/device-cookies.js';
import { ShadowRequests } from '../../gateway/shadowing.js';
import { createLogger } from '../../gateway/logger.js';
import { SignInLockout } from '../../gateway/sign-in-lockout.js';
import { SignInSessions } from '../../gateway/sign-in-sessions.js';
import { loadOrCreateSigningKey } from '../../gateway/signing-keys.js';
import { TokenIssuer } from '../../gateway/token-issuer.js';
import { UserStore } from '../../gateway/users.js';
import { Inventory } from '../../inventory/inventory.js';
import { LiveSessions } from '../../proxy/live-sessions.js';
import { TokenVerifier } from '../../proxy/token-verifier.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { PROTOCOLS } from '../../serve/protocols.js';
import { ProcessAvailability } from '../../serve/availability.js';

const availability = new ProcessAvailability();

const ORIGIN = 'https://desk.example.org';
const dir = mkdtempSync(join(tmpdir(), 'porthole-app-'));
const ALICE = '11111111-2222-3333-4444-555555555555';
const CLASS = '21111111-2222-3333-4444-555555555555';
const OFF = '31111111-2222-3333-4444-555555555555';
let app: FastifyInstance;
let services: GatewayServices;
let inventory: Inventory;
let verifier: TokenVerifier;

before(async () => {
  const displays = { spice: { port: 15930, password: 'spice-secret' }, vnc: { port: 5935, password: 'vnc-secret' } };
  const uri = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'alice-desktop', uuid: ALICE, users: ['alice'], ...displays },
    { name: 'class-desktop', uuid: CLASS, groups: ['class-3b'], rdp: { port: 3389, address: '192.0.2.10' }, ...displays },
    { name: 'stopped', uuid: OFF, users: ['alice'], running: false, ...displays },
  ]);
  const users = new UserStore(join(dir, 'data'));
  await users.upsert('alice', 'alice-password', 'user', []);
  await users.upsert('bob', 'bob-password', 'user', ['class-3b']);
  await users.upsert('hannah', 'hannah-password', 'helpdesk', []);
  const key = loadOrCreateSigningKey(join(dir, 'data'));
  verifier = new TokenVerifier([[key.kid, key.publicKey]]);
  inventory = new Inventory([{ name: 'lab', uri }], PROTOCOLS);
  const webRoot = join(dir, 'web');
  mkdirSync(webRoot);
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Porthole</title>');
  services = {
    protocols: PROTOCOLS,
    log: createLogger('error'),
    origins: new Set([ORIGIN]),
    webSocketOrigin: 'wss://desk.example.org',
    users,
    signIns: new SignInSessions(3600_000),
    signInLockout: new SignInLockout(),
    devices: new DeviceCookies(join(dir, 'data')),
    desktops: inventory,
    issuer: new TokenIssuer(key, 60, true),
    liveSessions: new LiveSessions(),
    shadows: new ShadowRequests(new AuditLog(join(dir, 'data')), () => {}),
    rdpPins: new CertificatePins(join(dir, 'data')),
    audit: new AuditLog(join(dir, 'data')),
    availability,
    webRoot,
  };
  app = await buildApp(services);
});

after(async () => {
  await app.close();
  await inventory.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = { origin: ORIGIN, 'content-type': 'application/json' };

async function signIn(username: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username, password } });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'porthole_session');
  assert.ok(cookie);
  return `porthole_session=${cookie.value}`;
}

function error(res: LightMyRequestResponse, status: number, pattern: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json() as { error: string };
  assert.equal(typeof body.error, 'string');
  assert.match(body.error, pattern);
}

test('sign-in sets a secure session cookie and answers with the principal', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/login',
    headers: json,
    payload: { username: 'bob', password: 'bob-password' },
  });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { username: 'bob', roles: ['user'], groups: ['class-3b'] });
  const cookie = res.cookies.find((c) => c.name === 'porthole_session')!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.ok(cookie.value.length >= 40);
});

test('a wrong password gets 401 with a sentence, and no cookie', async () => {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 'bob', password: 'nope' } });
  error(res, 401, /user name or password is not right/);
  assert.equal(res.cookies.length, 0);
});

test('state-changing calls need an accepted Origin and a JSON body', async () => {
  const payload = { username: 'bob', password: 'bob-password' };
  error(
    await app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' }, payload }),
    403,
    /origin not allowed/,
  );
  error(
    await app.inject({ method: 'POST', url: '/api/login', headers: { ...json, origin: 'https://evil.example' }, payload }),
    403,
    /origin not allowed/,
  );
  error(
    await app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=bob',
    }),
    415,
    /application\/json/,
  );
  error(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: '{"username":' }), 400, /not valid JSON/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 'bob' } }), 400, /password/);
});

test('the desktop list shows only what the user may open, without endpoints or passwords', async () => {
  error(await app.inject({ method: 'GET', url: '/api/desktops' }), 401, /sign in/);
  const alice = await signIn('alice', 'alice-password');
  const res = await app.inject({ method: 'GET', url: '/api/desktops', headers: { cookie: alice } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), [
    { id: `${ALICE}`, name: 'alice-desktop', hypervisor: 'lab', state: 'running', protocols: ['spice', 'vnc'], power: false },
    { id: `${OFF}`, name: 'stopped', hypervisor: 'lab', state: 'shut off', protocols: [], power: false },
  ]);
  assert.doesNotMatch(res.body, /secret|5935|15930/);
  const bob = await signIn('bob', 'bob-password');
  const list = (await app.inject({ method: 'GET', url: '/api/desktops', headers: { cookie: bob } })).json() as Array<{
    name: string;
    protocols: string[];
  }>;
  assert.deepEqual(
    list.map((d) => [d.name, d.protocols]),
    [['class-desktop', ['spice', 'vnc', 'rdp']]],
  );
});

test('connect issues one bound, short-lived token per protocol in fallback order', async () => {
  const alice = await signIn('alice', 'alice-password');
  const id = encodeURIComponent(`${ALICE}`);
  const res = await app.inject({ method: 'POST', url: `/api/desktops/${id}/connect`, headers: { ...json, cookie: alice }, payload: {} });
  assert.equal(res.statusCode, 200, res.body);
  const { attempts } = res.json() as { attempts: Array<{ protocol: string; url: string; token: string; expiresAt: string }> };
  assert.deepEqual(
    attempts.map((a) => a.protocol),
    ['spice', 'vnc'],
  );
  for (const a of attempts) {
    assert.equal(a.url, `wss://desk.example.org/ws/${a.protocol}?token=${encodeURIComponent(a.token)}`);
    const ttl = Date.parse(a.expiresAt) - Date.now();
    assert.ok(ttl > 0 && ttl <= 60_000, `expires in ${ttl} ms`);
    const browserSession = alice.split('=')[1];
    const claims = verifier.verify(a.token, a.protocol as 'spice' | 'vnc', '127.0.0.1', { browserSession });
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.desktop, `${ALICE}`);
    assert.equal(claims.viewOnly, false);
  }
  assert.notEqual(attempts[0]!.token, attempts[1]!.token);
  assert.doesNotMatch(res.body, /secret/);

  const only = await app.inject({
    method: 'POST',
    url: `/api/desktops/${id}/connect`,
    headers: { ...json, cookie: alice },
    payload: { protocols: ['vnc', 'rdp'], viewOnly: true },
  });
  const vnc = (only.json() as { attempts: Array<{ protocol: string; token: string }> }).attempts;
  assert.deepEqual(
    vnc.map((a) => a.protocol),
    ['vnc'],
  );
  assert.equal(verifier.verify(vnc[0]!.token, 'vnc', '127.0.0.1', { browserSession: alice.split('=')[1] }).viewOnly, true);
  // The token is bound to Alice's browser: another browser's sign-in cannot use it.
  assert.throws(
    () => verifier.verify(vnc[0]!.token, 'vnc', '127.0.0.1', { browserSession: 'someone-else' }),
    /another browser session|belongs/,
  );
});

test('connect: 401 signed out, 404 unknown, 403 not entitled, 409 not running or no such protocol', async () => {
  const alice = await signIn('alice', 'alice-password');
  const connect = (id: string, cookie?: string, payload: object = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/desktops/${encodeURIComponent(id)}/connect`,
      headers: { ...json, ...(cookie ? { cookie } : {}) },
      payload,
    });
  error(await connect(`${ALICE}`), 401, /sign in/);
  error(await connect('00000000-0000-0000-0000-000000000000', alice), 404, /no such desktop/);
  error(await connect('elsewhere/whatever', alice), 404, /no such desktop/);
  error(await connect(`${CLASS}`, alice), 403, /may not open/);
  error(await connect(`${OFF}`, alice), 409, /not running \(it is shut off\)/);
  error(await connect(`${ALICE}`, alice, { protocols: ['rdp'] }), 409, /offers spice, vnc, not rdp/);
  error(await connect(`${ALICE}`, alice, { protocols: ['telnet'] }), 400, /not valid/);
});

test('view-only is refused over RDP: alone, it is a 409 with the reason; among others, RDP is left out', async () => {
  const bob = await signIn('bob', 'bob-password');
  const connect = (payload: object) =>
    app.inject({ method: 'POST', url: `/api/desktops/${encodeURIComponent(CLASS)}/connect`, headers: { ...json, cookie: bob }, payload });
  error(await connect({ protocols: ['rdp'], viewOnly: true }), 409, /Watching without control is not available over RDP/);
  const mixed = await connect({ protocols: ['vnc', 'rdp'], viewOnly: true });
  assert.equal(mixed.statusCode, 200, mixed.body);
  assert.deepEqual(
    (mixed.json() as { attempts: Array<{ protocol: string }> }).attempts.map((a) => a.protocol),
    ['vnc'],
  );
  // With control, the same desktop offers RDP.
  const control = await connect({ protocols: ['rdp'] });
  assert.deepEqual(
    (control.json() as { attempts: Array<{ protocol: string }> }).attempts.map((a) => a.protocol),
    ['rdp'],
  );
});

test('sign-out ends the browser session', async () => {
  const bob = await signIn('bob', 'bob-password');
  const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { ...json, cookie: bob } });
  assert.equal(out.statusCode, 204);
  error(await app.inject({ method: 'GET', url: '/api/desktops', headers: { cookie: bob } }), 401, /sign in/);
});

test('live sessions: helpdesk and admin only', async () => {
  const alice = await signIn('alice', 'alice-password');
  error(await app.inject({ method: 'GET', url: '/api/sessions', headers: { cookie: alice } }), 403, /helpdesk or admin/);
  const hannah = await signIn('hannah', 'hannah-password');
  const res = await app.inject({ method: 'GET', url: '/api/sessions', headers: { cookie: hannah } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), []);
  error(await app.inject({ method: 'DELETE', url: '/api/sessions/x', headers: { ...json, cookie: hannah } }), 403, /admin/);
});

test('every response carries the security headers; health answers, and /metrics is not on the public port', async () => {
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.doesNotMatch(String(res.headers['content-security-policy']), /wasm|unsafe/);
  // Only the viewer runs IronRDP's WebAssembly; even there no 'unsafe-eval' and no other origin.
  const viewer = String((await app.inject({ method: 'GET', url: '/viewer.html?desktop=x' })).headers['content-security-policy']);
  assert.match(viewer, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(viewer, /media-src 'self' blob:;/, "the desktop's sound plays from a MediaSource");
  assert.match(viewer, /connect-src 'self' data:;/);
  assert.doesNotMatch(viewer, /'unsafe-eval'|https?:|\*/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
  assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  // Metrics are served on their own listener (PORTHOLE_METRICS_LISTEN), never to users.
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 404);
  assert.doesNotMatch(metrics.body, /process_cpu|porthole_/);
});

/** One raw HTTP/1.1 request, the path sent byte for byte as given (no client normalises it). */
async function rawGet(port: number, path: string): Promise<{ status: number; headers: string; body: string }> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to GET ${path} within 10 s`)));
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: desk.example.org\r\nConnection: close\r\n\r\n`);
  });
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: text.slice(head.length + 4) };
}

test('no traversal: a file that exists outside the static root is never served, however the path is encoded', async () => {
  // dir/web is the static root; dir/outside.txt and dir/web-private/secret.txt exist beside it with known content.
  const marker = `outside-the-root-${process.pid}-${Date.now()}`;
  writeFileSync(join(dir, 'outside.txt'), marker);
  mkdirSync(join(dir, 'web-private'), { recursive: true });
  writeFileSync(join(dir, 'web-private', 'secret.txt'), marker);
  mkdirSync(join(dir, 'web', 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'web', 'sub', 'inside.txt'), 'inside the root');
  const server = await buildApp(services);
  await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const port = (server.server.address() as AddressInfo).port;
    // The probe set can succeed: a file inside the root, asked for through a subfolder, is served.
    const inside = await rawGet(port, '/sub/inside.txt');
    assert.equal(inside.status, 200, inside.headers);
    assert.equal(inside.body, 'inside the root');
    const ups = [
      '../',
      '%2e%2e/',
      '%2e%2e%2f',
      '..%2f',
      '%2E%2E%2F',
      '..\\',
      '..%5c',
      '%2e%2e%5c',
      '%252e%252e%252f',
      '..%252f',
      '.%2e/',
      '%2e./',
      '....//',
      '..;/',
    ];
    const probes: string[] = [];
    for (const up of ups) {
      for (const depth of [1, 2]) {
        const climb = up.repeat(depth);
        probes.push(
          `/${climb}outside.txt`,
          `/sub/${climb}${up}outside.txt`,
          `/${climb}web-private/secret.txt`,
          `/sub/deeper/${climb}${up}${up}outside.txt`,
        );
      }
    }
    probes.push(
      '/%2e%2e%2foutside.txt',
      '/..%c0%afoutside.txt',
      '/%c0%ae%c0%ae/outside.txt',
      '/sub/..%00/../outside.txt',
      '//../outside.txt',
      '/./../outside.txt',
    );
    for (const path of probes) {
      const res = await rawGet(port, path);
      assert.ok(!res.body.includes(marker), `GET ${path} served a file outside the static root (HTTP ${res.status})`);
      assert.notEqual(res.status, 200, `GET ${path}: 200`);
      assert.doesNotMatch(res.headers, /^location:/im, `GET ${path} redirects`);
    }
    console.log(`# ${probes.length} traversal probes, none served the file outside the root`);
  } finally {
    await server.close();
  }
});

test('no directory listing, no open redirect, in a static root with subfolders', async () => {
  mkdirSync(join(dir, 'web', 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'web', 'sub', 'listed-name.txt'), 'x');
  writeFileSync(join(dir, 'web', 'sub', 'deeper', 'deeper-name.txt'), 'x');
  // The subfolder's file is there to be listed: asked for by name, it is served.
  assert.equal((await app.inject({ method: 'GET', url: '/sub/listed-name.txt' })).statusCode, 200);
  for (const url of ['/sub', '/sub/', '/sub/deeper', '/sub/deeper/', '/sub/?list', '/sub/deeper/?format=json', '/sub/%2e/']) {
    const res = await app.inject({ method: 'GET', url });
    assert.notEqual(res.statusCode, 200, `${url}: ${res.statusCode}`);
    assert.doesNotMatch(res.body, /listed-name|deeper-name/, `${url} lists the folder`);
    assert.equal(res.headers.location, undefined, `${url} redirects to ${String(res.headers.location)}`);
  }
  for (const url of ['//evil.example/', '///evil.example/%2e%2e', '/%2fevil.example/', '/api/nothing']) {
    const res = await app.inject({ method: 'GET', url });
    assert.ok([400, 403, 404].includes(res.statusCode), `${url}: ${res.statusCode}`);
    assert.equal(res.headers.location, undefined, url);
  }
});

test('sign-in attempts are rate limited per user name and address, with a clear message', async () => {
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < 11; i++) {
    last = await app.inject({
      method: 'POST',
      url: '/api/login',
      headers: json,
      remoteAddress: '192.0.2.99',
      payload: { username: 'mallory', password: 'guess' },
    });
  }
  error(last!, 429, /Too many attempts\. Wait .+ and try again/);
  // Another user behind the same address (a classroom's NAT) still signs in.
  const other = await app.inject({
    method: 'POST',
    url: '/api/login',
    headers: json,
    remoteAddress: '192.0.2.99',
    payload: { username: 'alice', password: 'alice-password' },
  });
  assert.equal(other.statusCode, 200);
});

test('errors found before any route runs are sentences too: broken encodings, long ids, bad or oversized JSON', async () => {
  const cookie = await signIn('alice', 'alice-password');
  /** Exactly one key, `error`, holding a sentence. */
  const sentence = (res: LightMyRequestResponse, status: number) => {
    assert.equal(res.statusCode, status, res.body);
    const body = res.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error'], res.body);
    assert.match(body.error as string, /^[A-Z].*[.!?]$/, res.body);
  };
  sentence(
    await app.inject({ method: 'POST', url: '/api/desktops/lab%2F%E0%A4%A/connect', headers: { ...json, cookie }, payload: {} }),
    400,
  );
  sentence(await app.inject({ method: 'GET', url: '/%E0%A4%A' }), 400);
  sentence(
    await app.inject({ method: 'POST', url: `/api/desktops/lab%2F${'a'.repeat(300)}/connect`, headers: { ...json, cookie }, payload: {} }),
    414,
  );
  sentence(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: '{"username":' }), 400);
  sentence(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: `{"username":"${'x'.repeat(70_000)}"}` }), 413);
});

test('a caller who is not signed in gets 401 before the body or the path is looked at', async () => {
  error(
    await app.inject({
      method: 'POST',
      url: `/api/desktops/${encodeURIComponent(`${ALICE}`)}/connect`,
      headers: json,
      payload: { protocols: [] },
    }),
    401,
    /sign in/,
  );
  error(await app.inject({ method: 'POST', url: '/api/shadow/x/answer', headers: json, payload: {} }), 401, /sign in/);
  error(await app.inject({ method: 'GET', url: `/api/shadow/${'x'.repeat(70)}` }), 401, /sign in/);
  error(await app.inject({ method: 'POST', url: '/api/sessions/x/shadow', headers: json, payload: '{"control":' }), 401, /sign in/);
});

test('a hypervisor that cannot be reached: connect gets 503 naming the host, the list names it beside its array', async () => {
  const cookie = await signIn('alice', 'alice-password');
  // A real libvirt client, pointed at a port where no libvirtd listens.
  const unreachable = new Inventory([{ name: 'gone', uri: 'qemu+tcp://127.0.0.1:1/system' }], PROTOCOLS);
  const other = await buildApp({ ...services, desktops: unreachable });
  try {
    const res = await other.inject({
      method: 'POST',
      url: `/api/desktops/${encodeURIComponent(`${ALICE}`)}/connect`,
      headers: { ...json, cookie },
      payload: {},
    });
    error(res, 503, /desktop's host \(gone\) cannot be reached right now. Try again in a minute/);
    const list = await other.inject({ method: 'GET', url: '/api/desktops', headers: { cookie } });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json(), [], 'the list stays an array (the contract)');
    assert.equal(list.headers['porthole-unreachable-hypervisors'], 'gone', 'and says which host could not be read');
  } finally {
    await other.close();
    await unreachable.close();
  }
});

test('a role taken away counts at the next request of a sign-in made before it', async () => {
  const cookie = await signIn('hannah', 'hannah-password');
  assert.equal((await app.inject({ method: 'GET', url: '/api/sessions', headers: { cookie } })).statusCode, 200);
  await services.users.upsert('hannah', 'hannah-password', 'user', []); // `porthole user add hannah --role user`
  try {
    error(await app.inject({ method: 'GET', url: '/api/sessions', headers: { cookie } }), 403, /needs the helpdesk or admin role/);
  } finally {
    await services.users.upsert('hannah', 'hannah-password', 'helpdesk', []);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/api/sessions', headers: { cookie } })).statusCode, 200);
});

test('a misspelt field or a wrong type is refused with the reason, not dropped or coerced', async () => {
  const cookie = await signIn('alice', 'alice-password');
  const connect = `/api/desktops/${encodeURIComponent(`${ALICE}`)}/connect`;
  error(
    await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewonly: true } }),
    400,
    /must NOT have additional properties/,
  );
  error(
    await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewOnly: 1 } }),
    400,
    /viewOnly must be boolean/,
  );
  error(
    await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 5, password: 'alice-password' } }),
    400,
    /username must be string/,
  );
  assert.equal(
    (await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewOnly: true } })).statusCode,
    200,
  );
});

test('GET /api/me names the signed-in user, and 401 without a sign-in', async () => {
  const cookie = await signIn('bob', 'bob-password');
  const me = await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
  assert.equal(me.statusCode, 200);
  assert.deepEqual(me.json(), { username: 'bob', roles: ['user'], groups: ['class-3b'] });
  error(await app.inject({ method: 'GET', url: '/api/me' }), 401, /sign in/i);
});

test('the OpenAPI document describes every route of the contract with the schemas it validates with', async () => {
  const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> }>
    >;
  };
  assert.match(doc.openapi, /^3\./);
  const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  for (const route of [
    'POST /api/login',
    'GET /api/me',
    'POST /api/logout',
    'GET /api/desktops',
    'POST /api/desktops/{id}/connect',
    'GET /api/sessions',
    'DELETE /api/sessions/{id}',
    'POST /api/sessions/{id}/shadow',
    'GET /api/shadow/{requestId}',
    'POST /api/shadow/{requestId}/answer',
    'DELETE /api/shadow/{requestId}',
    'GET /healthz',
  ])
    assert.ok(routes.includes(route), `${route} missing from ${routes.join(', ')}`);
  assert.ok(!routes.some((r) => r.includes('/metrics')), 'metrics are not on the public port');
  // The connect body is bounded by the registry's protocols, as the route validates it.
  const connect = doc.paths['/api/desktops/{id}/connect']!.post!;
  const body = JSON.stringify(connect.requestBody?.content['application/json']?.schema);
  assert.match(body, /"enum":\["spice","vnc","rdp"\]/);
  assert.match(body, /"maxItems":3/);
  assert.ok(connect.responses['409'] && connect.responses['200']);
});

test('while the process drains, sign-ins and connects get 503 with the reason, healthz too; the list still answers', async () => {
  const cookie = await signIn('alice', 'alice-password');
  const draining = new ProcessAvailability();
  const other = await buildApp({ ...services, availability: draining });
  try {
    assert.equal((await other.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    draining.startDraining();
    error(await other.inject({ method: 'GET', url: '/healthz' }), 503, /restarting/);
    error(
      await other.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 'alice', password: 'alice-password' } }),
      503,
      /restarting/,
    );
    error(
      await other.inject({
        method: 'POST',
        url: `/api/desktops/${encodeURIComponent(`${ALICE}`)}/connect`,
        headers: { ...json, cookie },
        payload: {},
      }),
      503,
      /restarting/,
    );
    assert.equal((await other.inject({ method: 'GET', url: '/api/desktops', headers: { cookie } })).statusCode, 200);
  } finally {
    await other.close();
  }
});

test('power: users of a desktop with <porthole:power/> start and shut it down, admins always; refusals say why; each action is audited', async () => {
  const ON = '77777777-0000-4000-8000-000000000001';
  const DOWN = '77777777-0000-4000-8000-000000000002';
  const LOCKED = '77777777-0000-4000-8000-000000000003';
  const uri = writeTestDriver(join(dir, 'power.xml'), [
    { name: 'on', uuid: ON, users: ['alice'], power: true },
    { name: 'down', uuid: DOWN, users: ['alice'], power: true, running: false },
    { name: 'locked', uuid: LOCKED, users: ['alice'], running: false },
  ]);
  const powered = new Inventory([{ name: 'lab', uri }], PROTOCOLS);
  const audit = new AuditLog(join(dir, 'power-audit'));
  const other = await buildApp({ ...services, desktops: powered, audit });
  try {
    const login = await other.inject({
      method: 'POST',
      url: '/api/login',
      headers: json,
      payload: { username: 'alice', password: 'alice-password' },
    });
    const cookie = String(login.headers['set-cookie']).split(';', 1)[0]!;
    const call = (id: string, action: string) =>
      other.inject({ method: 'POST', url: `/api/desktops/${id}/${action}`, headers: { ...json, cookie }, payload: {} });
    const list = (await other.inject({ method: 'GET', url: '/api/desktops', headers: { cookie } })).json() as Array<{
      id: string;
      power: boolean;
      state: string;
    }>;
    assert.deepEqual(
      list.map((d) => [d.id, d.power]),
      [
        [DOWN, true],
        [LOCKED, false],
        [ON, true],
      ],
    );

    const started = await call(DOWN, 'start');
    assert.equal(started.statusCode, 202, started.body);
    assert.deepEqual(started.json(), { state: 'starting' });
    assert.equal((await powered.get(DOWN))?.state, 'running');
    error(await call(DOWN, 'start'), 409, /is running: it cannot start now/);
    const stopped = await call(ON, 'shutdown');
    assert.equal(stopped.statusCode, 202, stopped.body);
    assert.equal((await powered.get(ON))?.state, 'shut off');
    error(await call(ON, 'reboot'), 409, /is shut off: it cannot restart now/);
    error(await call(LOCKED, 'start'), 403, /may not start this desktop yourself\. Ask your administrator/);
    error(await call('77777777-0000-4000-8000-00000000ffff', 'start'), 404, /no such desktop/);
    error(await other.inject({ method: 'POST', url: `/api/desktops/${DOWN}/start`, headers: json, payload: {} }), 401, /sign in/i);

    const events = (await audit.search()).filter((e) => e.event.startsWith('power.')).map((e) => [e.event, e.user, e.desktop, e.result]);
    assert.deepEqual(events, [
      ['power.start', 'alice', DOWN, 'accepted'],
      ['power.shutdown', 'alice', ON, 'accepted'],
    ]);
  } finally {
    await other.close();
    await powered.close();
  }
});
