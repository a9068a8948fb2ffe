// The broker's HTTP API through Fastify's inject, with the inventory read from libvirt's test
// driver (real libvirt API, no daemon).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type GatewayServices } from '../../gateway/app.js';
import { CertificatePins } from '../../proxy/rdp/certificate-pins.js';
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
  inventory = new Inventory([{ name: 'lab', uri }]);
  const webRoot = join(dir, 'web');
  mkdirSync(webRoot);
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Porthole</title>');
  services = {
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
    registry: new Registry(),
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
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 'bob', password: 'bob-password' } });
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
  error(await app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' }, payload }), 403, /origin not allowed/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: { ...json, origin: 'https://evil.example' }, payload }), 403, /origin not allowed/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=bob' }), 415, /application\/json/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: '{"username":' }), 400, /not valid JSON/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 'bob' } }), 400, /password/);
});

test('the desktop list shows only what the user may open, without endpoints or passwords', async () => {
  error(await app.inject({ method: 'GET', url: '/api/desktops' }), 401, /sign in/);
  const alice = await signIn('alice', 'alice-password');
  const res = await app.inject({ method: 'GET', url: '/api/desktops', headers: { cookie: alice } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), [
    { id: `lab/${ALICE}`, name: 'alice-desktop', hypervisor: 'lab', state: 'running', protocols: ['spice', 'vnc'] },
    { id: `lab/${OFF}`, name: 'stopped', hypervisor: 'lab', state: 'shut off', protocols: [] },
  ]);
  assert.doesNotMatch(res.body, /secret|5935|15930/);
  const bob = await signIn('bob', 'bob-password');
  const list = (await app.inject({ method: 'GET', url: '/api/desktops', headers: { cookie: bob } })).json() as Array<{ name: string; protocols: string[] }>;
  assert.deepEqual(list.map((d) => [d.name, d.protocols]), [['class-desktop', ['spice', 'vnc', 'rdp']]]);
});

test('connect issues one bound, short-lived token per protocol in fallback order', async () => {
  const alice = await signIn('alice', 'alice-password');
  const id = encodeURIComponent(`lab/${ALICE}`);
  const res = await app.inject({ method: 'POST', url: `/api/desktops/${id}/connect`, headers: { ...json, cookie: alice }, payload: {} });
  assert.equal(res.statusCode, 200, res.body);
  const { attempts } = res.json() as { attempts: Array<{ protocol: string; url: string; token: string; expiresAt: string }> };
  assert.deepEqual(attempts.map((a) => a.protocol), ['spice', 'vnc']);
  for (const a of attempts) {
    assert.equal(a.url, `wss://desk.example.org/ws/${a.protocol}?token=${encodeURIComponent(a.token)}`);
    const ttl = Date.parse(a.expiresAt) - Date.now();
    assert.ok(ttl > 0 && ttl <= 60_000, `expires in ${ttl} ms`);
    const browserSession = alice.split('=')[1];
    const claims = verifier.verify(a.token, a.protocol as 'spice' | 'vnc', '127.0.0.1', { browserSession });
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.desktop, `lab/${ALICE}`);
    assert.equal(claims.viewOnly, false);
  }
  assert.notEqual(attempts[0]!.token, attempts[1]!.token);
  assert.doesNotMatch(res.body, /secret/);

  const only = await app.inject({ method: 'POST', url: `/api/desktops/${id}/connect`, headers: { ...json, cookie: alice }, payload: { protocols: ['vnc', 'rdp'], viewOnly: true } });
  const vnc = (only.json() as { attempts: Array<{ protocol: string; token: string }> }).attempts;
  assert.deepEqual(vnc.map((a) => a.protocol), ['vnc']);
  assert.equal(verifier.verify(vnc[0]!.token, 'vnc', '127.0.0.1', { browserSession: alice.split('=')[1] }).viewOnly, true);
  // The token is bound to Alice's browser: another browser's sign-in cannot use it.
  assert.throws(() => verifier.verify(vnc[0]!.token, 'vnc', '127.0.0.1', { browserSession: 'someone-else' }), /another browser session|belongs/);
});

test('connect: 401 signed out, 404 unknown, 403 not entitled, 409 not running or no such protocol', async () => {
  const alice = await signIn('alice', 'alice-password');
  const connect = (id: string, cookie?: string, payload: object = {}) => app.inject({
    method: 'POST', url: `/api/desktops/${encodeURIComponent(id)}/connect`, headers: { ...json, ...(cookie ? { cookie } : {}) }, payload,
  });
  error(await connect(`lab/${ALICE}`), 401, /sign in/);
  error(await connect('lab/00000000-0000-0000-0000-000000000000', alice), 404, /no such desktop/);
  error(await connect('elsewhere/whatever', alice), 404, /no such desktop/);
  error(await connect(`lab/${CLASS}`, alice), 403, /may not open/);
  error(await connect(`lab/${OFF}`, alice), 409, /not running \(it is shut off\)/);
  error(await connect(`lab/${ALICE}`, alice, { protocols: ['rdp'] }), 409, /offers spice, vnc, not rdp/);
  error(await connect(`lab/${ALICE}`, alice, { protocols: ['telnet'] }), 400, /not valid/);
});

test('view-only is refused over RDP: alone, it is a 409 with the reason; among others, RDP is left out', async () => {
  const bob = await signIn('bob', 'bob-password');
  const connect = (payload: object) => app.inject({ method: 'POST', url: `/api/desktops/${encodeURIComponent(`lab/${CLASS}`)}/connect`, headers: { ...json, cookie: bob }, payload });
  error(await connect({ protocols: ['rdp'], viewOnly: true }), 409, /Watching without control is not available over RDP/);
  const mixed = await connect({ protocols: ['vnc', 'rdp'], viewOnly: true });
  assert.equal(mixed.statusCode, 200, mixed.body);
  assert.deepEqual((mixed.json() as { attempts: Array<{ protocol: string }> }).attempts.map((a) => a.protocol), ['vnc']);
  // With control, the same desktop offers RDP.
  const control = await connect({ protocols: ['rdp'] });
  assert.deepEqual((control.json() as { attempts: Array<{ protocol: string }> }).attempts.map((a) => a.protocol), ['rdp']);
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

test('every response carries the security headers; health and metrics answer', async () => {
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.doesNotMatch(String(res.headers['content-security-policy']), /wasm|unsafe/);
  // Only the viewer runs IronRDP's WebAssembly; even there no 'unsafe-eval' and no other origin.
  const viewer = String((await app.inject({ method: 'GET', url: '/viewer.html?desktop=x' })).headers['content-security-policy']);
  assert.match(viewer, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(viewer, /connect-src 'self' data:;/);
  assert.doesNotMatch(viewer, /'unsafe-eval'|https?:|\*/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
  assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
});

/** One raw HTTP/1.1 request, the path sent byte for byte as given (no client normalises it). */
async function rawGet(port: number, path: string): Promise<{ status: number; headers: string; body: string }> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to GET ${path} within 10 s`)));
    socket.on('data', (d: Buffer) => { data += d.toString('latin1'); });
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
    const ups = ['../', '%2e%2e/', '%2e%2e%2f', '..%2f', '%2E%2E%2F', '..\\', '..%5c', '%2e%2e%5c', '%252e%252e%252f', '..%252f', '.%2e/', '%2e./', '....//', '..;/'];
    const probes: string[] = [];
    for (const up of ups) {
      for (const depth of [1, 2]) {
        const climb = up.repeat(depth);
        probes.push(`/${climb}outside.txt`, `/sub/${climb}${up}outside.txt`, `/${climb}web-private/secret.txt`, `/sub/deeper/${climb}${up}${up}outside.txt`);
      }
    }
    probes.push('/%2e%2e%2foutside.txt', '/..%c0%afoutside.txt', '/%c0%ae%c0%ae/outside.txt', '/sub/..%00/../outside.txt', '//../outside.txt', '/./../outside.txt');
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
    last = await app.inject({ method: 'POST', url: '/api/login', headers: json, remoteAddress: '192.0.2.99', payload: { username: 'mallory', password: 'guess' } });
  }
  error(last!, 429, /Too many attempts\. Wait .+ and try again/);
  // Another user behind the same address (a classroom's NAT) still signs in.
  const other = await app.inject({ method: 'POST', url: '/api/login', headers: json, remoteAddress: '192.0.2.99', payload: { username: 'alice', password: 'alice-password' } });
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
  sentence(await app.inject({ method: 'POST', url: '/api/desktops/lab%2F%E0%A4%A/connect', headers: { ...json, cookie }, payload: {} }), 400);
  sentence(await app.inject({ method: 'GET', url: '/%E0%A4%A' }), 400);
  sentence(await app.inject({ method: 'POST', url: `/api/desktops/lab%2F${'a'.repeat(300)}/connect`, headers: { ...json, cookie }, payload: {} }), 414);
  sentence(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: '{"username":' }), 400);
  sentence(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: `{"username":"${'x'.repeat(70_000)}"}` }), 413);
});

test('a caller who is not signed in gets 401 before the body or the path is looked at', async () => {
  error(await app.inject({ method: 'POST', url: `/api/desktops/${encodeURIComponent(`lab/${ALICE}`)}/connect`, headers: json, payload: { protocols: [] } }), 401, /sign in/);
  error(await app.inject({ method: 'POST', url: '/api/shadow/x/answer', headers: json, payload: {} }), 401, /sign in/);
  error(await app.inject({ method: 'GET', url: `/api/shadow/${'x'.repeat(70)}` }), 401, /sign in/);
  error(await app.inject({ method: 'POST', url: '/api/sessions/x/shadow', headers: json, payload: '{"control":' }), 401, /sign in/);
});

test('a hypervisor that cannot be reached: connect gets 503 naming the host, the list names it beside its array', async () => {
  const cookie = await signIn('alice', 'alice-password');
  // A real libvirt client, pointed at a port where no libvirtd listens.
  const unreachable = new Inventory([{ name: 'gone', uri: 'qemu+tcp://127.0.0.1:1/system' }]);
  const other = await buildApp({ ...services, desktops: unreachable });
  try {
    const res = await other.inject({ method: 'POST', url: `/api/desktops/${encodeURIComponent(`gone/${ALICE}`)}/connect`, headers: { ...json, cookie }, payload: {} });
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
  const connect = `/api/desktops/${encodeURIComponent(`lab/${ALICE}`)}/connect`;
  error(await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewonly: true } }), 400, /must NOT have additional properties/);
  error(await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewOnly: 1 } }), 400, /viewOnly must be boolean/);
  error(await app.inject({ method: 'POST', url: '/api/login', headers: json, payload: { username: 5, password: 'alice-password' } }), 400, /username must be string/);
  assert.equal((await app.inject({ method: 'POST', url: connect, headers: { ...json, cookie }, payload: { viewOnly: true } })).statusCode, 200);
});
