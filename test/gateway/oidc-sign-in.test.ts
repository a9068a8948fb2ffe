// Signing in through a real OpenID provider (oidc-provider on loopback HTTPS, its certificate
// from a CA made here and verified by the gateway), through the running gateway's HTTP API:
// the flow's parameters and cookie, roles and groups from the claims, the deep link kept, and
// every forged or failed answer sent back to the sign-in page with its reason and no sign-in:
// a forged state, no or a changed flow cookie, a replayed code, a wrong nonce, issuer or
// audience, a signature by a stranger's key, an expired ID token (and clock skew within the
// bound accepted), a name that is a local user's, the provider down and back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startOidcProvider, type OidcTestProvider, type OidcUser } from '../bed/oidc-provider.js';
import { freePort } from '../bed/ports.js';
import { recordSecret } from '../bed/secret-record.js';
import { writeTestDriver } from '../bed/test-driver.js';

const CLASS_DESKTOP = '0c1d0000-0000-4000-8000-000000000001';
const LAB_DESKTOP = '0c1d0000-0000-4000-8000-000000000002';
const USERS: OidcUser[] = [
  { username: 'olga', password: 'olga-provider-pw-1', groups: ['class-3b'] },
  { username: 'hanna', password: 'hanna-provider-pw-2', groups: ['helpdesk', 'staff'] },
  { username: 'alice', password: 'alice-provider-pw-3', groups: ['class-3b'] },
];
const LOCAL_ALICE = { name: 'alice', password: 'alice-local-password-9', role: 'admin' as const };
const dir = mkdtempSync(join(tmpdir(), 'porthole-oidc-test-'));
let provider: OidcTestProvider;
let gw: RunningGateway;
let libvirt: string;
/** One per gateway: each has its own self-signed certificate. */
const agents = new Map<RunningGateway, Agent>();
const gateways: RunningGateway[] = [];

interface Answer {
  status: number;
  location: string | undefined;
  cookies: Map<string, string>;
  /** Set-Cookie lines as sent. */
  setCookies: string[];
  body: string;
}

/** A request to the gateway as a browser's navigation sends it (GET, cookies, no redirect followed). */
async function navigate(g: RunningGateway, path: string, cookies: Record<string, string | undefined> = {}): Promise<Answer> {
  const cookie = Object.entries(cookies)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
  const res = await fetch(`${g.origin}${path}`, {
    redirect: 'manual',
    dispatcher: agents.get(g) ?? agents.set(g, new Agent({ connect: { ca: g.ca } })).get(g)!,
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(30_000),
  });
  const setCookies = res.headers.getSetCookie();
  const map = new Map<string, string>();
  for (const c of setCookies) {
    const [pair] = c.split(';', 1);
    const eq = pair!.indexOf('=');
    map.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  recordSecret('sign-in cookie', map.get('porthole_session'));
  recordSecret('OIDC flow cookie', map.get('porthole_oidc'));
  return { status: res.status, location: res.headers.get('location') ?? undefined, cookies: map, setCookies, body: await res.text() };
}

/** "Sign in with …": the provider's authorization URL and the sealed flow cookie. */
async function begin(g: RunningGateway, returnTo?: string): Promise<{ authorize: URL; flow: string }> {
  const res = await navigate(g, `/api/login/oidc${returnTo ? `?return=${encodeURIComponent(returnTo)}` : ''}`);
  assert.equal(res.status, 302, res.body);
  const flow = res.cookies.get('porthole_oidc');
  assert.ok(flow, `no flow cookie in ${JSON.stringify(res.setCookies)}`);
  return { authorize: new URL(res.location!), flow };
}

/** The whole round trip up to the provider's redirect back: the callback URL (path and query) and the flow cookie. */
async function signInAtProvider(g: RunningGateway, user: OidcUser, returnTo?: string): Promise<{ callback: string; flow: string }> {
  const { authorize, flow } = await begin(g, returnTo);
  const back = await provider.signIn(authorize.href, user.username, user.password);
  assert.equal(back.origin, g.origin);
  assert.equal(back.pathname, '/api/login/oidc/callback');
  return { callback: `${back.pathname}${back.search}`, flow };
}

function assertRefused(res: Answer, reason: string): void {
  assert.equal(res.status, 302, res.body);
  const to = new URL(res.location!, 'https://x.invalid');
  assert.equal(to.pathname, '/');
  assert.equal(to.searchParams.get('signInError'), reason, res.location);
  assert.equal(res.cookies.get('porthole_session'), undefined, 'a refused answer must not sign in');
}

async function gateway(port: number, config: Record<string, unknown> = {}): Promise<RunningGateway> {
  const started = await startTestGateway({
    libvirt,
    port,
    users: [LOCAL_ALICE],
    config: { directory: { oidc: provider.config(config) } },
    env: { PORTHOLE_OIDC_CLIENT_SECRET: provider.clientSecret },
  });
  gateways.push(started);
  return started;
}

const ports: number[] = [];
before(async () => {
  ports.push(await freePort(), await freePort());
  provider = await startOidcProvider({
    redirectUris: ports.map((p) => `https://localhost:${p}/api/login/oidc/callback`),
    users: USERS,
  });
  libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class-3b-desktop', uuid: CLASS_DESKTOP, groups: ['class-3b'], vnc: { port: 5999, password: 'vnc-secret' } },
    { name: 'lab-desktop', uuid: LAB_DESKTOP, groups: ['lab'], vnc: { port: 5998, password: 'vnc-secret' } },
  ]);
  gw = await gateway(ports[0]!);
});

after(async () => {
  for (const g of gateways) await g.close().catch(() => {});
  await provider?.close();
  for (const a of agents.values()) await a.close();
  rmSync(dir, { recursive: true, force: true });
});

test('without directory.oidc, GET /api/login/oidc answers 404 and the sign-in page offers no button', async () => {
  const plain = await startTestGateway({ libvirt, users: [] });
  gateways.push(plain);
  const res = await navigate(plain, '/api/login/oidc');
  assert.equal(res.status, 404);
  assert.match(JSON.parse(res.body).error, /not set up here/);
  assert.deepEqual((await plain.api('GET', '/api/login/options')).body, { password: true });
  assert.deepEqual((await gw.api('GET', '/api/login/options')).body, {
    password: true,
    oidc: { label: 'School account', url: '/api/login/oidc' },
  });
});

test('the start is the authorization code flow with PKCE, state and nonce, its state sealed in a short-lived cookie', async () => {
  const res = await navigate(gw, '/api/login/oidc');
  assert.equal(res.status, 302);
  const to = new URL(res.location!);
  assert.equal(to.origin, provider.issuer);
  const q = to.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), provider.clientId);
  assert.equal(q.get('redirect_uri'), `${gw.origin}/api/login/oidc/callback`);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge')!, /^[\w-]{43}$/);
  assert.match(q.get('state')!, /^[\w-]{20,}$/);
  assert.match(q.get('nonce')!, /^[\w-]{20,}$/);
  assert.deepEqual(q.get('scope')!.split(' ').sort(), ['groups', 'openid', 'profile']);
  const line = res.setCookies.find((c) => c.startsWith('porthole_oidc='))!;
  assert.match(line, /HttpOnly/i);
  assert.match(line, /Secure/i);
  assert.match(line, /SameSite=Lax/i);
  assert.match(line, /Path=\/api\/login\/oidc/);
  assert.match(line, /Max-Age=600/);
  // Sealed: neither the state, the nonce nor anything else is readable in it.
  const value = res.cookies.get('porthole_oidc')!;
  assert.ok(!value.includes(q.get('state')!) && !Buffer.from(value.split('.')[1]!, 'base64url').toString().includes(q.get('nonce')!));
});

test('a provider user signs in with the groups and roles of their claims, lands on the page first asked for, and is audited', async () => {
  const olga = USERS[0]!;
  const deepLink = `/viewer.html?desktop=${CLASS_DESKTOP}`;
  const { callback, flow } = await signInAtProvider(gw, olga, deepLink);
  const res = await navigate(gw, callback, { porthole_oidc: flow });
  assert.equal(res.status, 302, res.body);
  assert.equal(res.location, deepLink);
  const session = res.cookies.get('porthole_session');
  assert.ok(session, 'the callback sets the sign-in cookie');
  assert.match(
    res.setCookies.find((c) => c.startsWith('porthole_session='))!,
    /HttpOnly.*|SameSite=Strict/i,
  );
  // The flow cookie is spent.
  assert.match(
    res.setCookies.find((c) => c.startsWith('porthole_oidc='))!,
    /Expires=Thu, 01 Jan 1970|Max-Age=0/,
  );
  const cookie = `porthole_session=${session}`;
  assert.deepEqual((await gw.api('GET', '/api/me', { cookie })).body, { username: 'olga', roles: ['user'], groups: ['class-3b'] });
  const list = (await gw.api('GET', '/api/desktops', { cookie })).body as Array<{ id: string }>;
  assert.deepEqual(
    list.map((d) => d.id),
    [CLASS_DESKTOP],
  );
  // Roles from groups: helpdesk sees live sessions.
  const hanna = await signInAtProvider(gw, USERS[1]!);
  const second = await navigate(gw, hanna.callback, { porthole_oidc: hanna.flow });
  assert.equal(second.location, '/');
  const hannaCookie = `porthole_session=${second.cookies.get('porthole_session')}`;
  assert.deepEqual((await gw.api('GET', '/api/me', { cookie: hannaCookie })).body, {
    username: 'hanna',
    roles: ['helpdesk'],
    groups: ['helpdesk', 'staff'],
  });
  assert.equal((await gw.api('GET', '/api/sessions', { cookie: hannaCookie })).status, 200);
  assert.equal((await gw.api('GET', '/api/sessions', { cookie })).status, 403);
  const audit = readFileSync(join(gw.dataDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; user?: string; method?: string });
  assert.ok(audit.some((e) => e.event === 'sign-in' && e.user === 'olga' && e.method === 'oidc'));
});

test('a forged state, a missing or changed flow cookie, and a replayed code are refused with their reason', async () => {
  const olga = USERS[0]!;
  const { callback, flow } = await signInAtProvider(gw, olga);
  const forged = callback.replace(/state=[^&]+/, 'state=forged-state-value-00000000');
  assertRefused(await navigate(gw, forged, { porthole_oidc: flow }), 'state');
  assertRefused(await navigate(gw, callback), 'state');
  const flipped = flow.slice(0, -3) + (flow.endsWith('A') ? 'BBB' : 'AAA');
  assertRefused(await navigate(gw, callback, { porthole_oidc: flipped }), 'state');
  // Honest once...
  assert.ok((await navigate(gw, callback, { porthole_oidc: flow })).cookies.get('porthole_session'));
  // ...and the same code again (an attacker who kept the URL and the cookie): the provider refuses it.
  assertRefused(await navigate(gw, callback, { porthole_oidc: flow }), 'unverified');
  // The provider's own error answer (a user who cancelled).
  const { flow: other, authorize } = await begin(gw);
  const cancelled = `/api/login/oidc/callback?error=access_denied&state=${authorize.searchParams.get('state')}&iss=${encodeURIComponent(provider.issuer)}`;
  assertRefused(await navigate(gw, cancelled, { porthole_oidc: other }), 'cancelled');
});

test("ID tokens with a wrong nonce, issuer or audience, a stranger's signature, or past their time are refused", async () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, Parameters<OidcTestProvider['tamper']>[0], string]> = [
    ['wrong nonce', { claims: (c) => ({ ...c, nonce: 'not-the-nonce-of-this-sign-in' }) }, 'unverified'],
    ['wrong issuer', { claims: (c) => ({ ...c, iss: 'https://evil.example' }) }, 'unverified'],
    ['wrong audience', { claims: (c) => ({ ...c, aud: 'another-client' }) }, 'unverified'],
    ["a stranger's key", { key: 'stranger' }, 'unverified'],
    ['expired', { claims: (c) => ({ ...c, iat: now() - 1200, exp: now() - 600 }) }, 'expired'],
    ['issued in the future beyond the skew', { claims: (c) => ({ ...c, iat: now() + 600, exp: now() + 1200 }) }, 'expired'],
  ];
  try {
    for (const [name, tamper, reason] of cases) {
      provider.tamper(tamper);
      const { callback, flow } = await signInAtProvider(gw, USERS[0]!);
      const res = await navigate(gw, callback, { porthole_oidc: flow });
      assert.equal(new URL(res.location!, 'https://x.invalid').searchParams.get('signInError'), reason, name);
      assertRefused(res, reason);
    }
    // Within the stated skew (60 s by default): a provider whose clock runs 20 s behind is fine.
    provider.tamper({ claims: (c) => ({ ...c, iat: now() - 80, exp: now() - 20 }) });
    const { callback, flow } = await signInAtProvider(gw, USERS[0]!);
    const res = await navigate(gw, callback, { porthole_oidc: flow });
    assert.ok(res.cookies.get('porthole_session'), `within the skew: ${res.location}`);
  } finally {
    provider.tamper(undefined);
  }
  const log = gw.logs.join('');
  assert.match(log, /OpenID sign-in refused/);
  assert.match(log, /nonce/);
});

test("a provider name that is a local user's is refused (the local user is the administrators' way in)", async () => {
  const { callback, flow } = await signInAtProvider(gw, USERS[2]!);
  assertRefused(await navigate(gw, callback, { porthole_oidc: flow }), 'local-name');
});

test('a return path to another site is not followed', async () => {
  for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
    const { callback, flow } = await signInAtProvider(gw, USERS[0]!, evil);
    const res = await navigate(gw, callback, { porthole_oidc: flow });
    assert.equal(res.location, '/', evil);
  }
});

test('the provider down: the sign-in page is told, and sign-in works again once it is back', async () => {
  // A sign-in under way when the provider goes: its token request fails.
  const { callback, flow } = await signInAtProvider(gw, USERS[0]!);
  await provider.stop();
  try {
    assertRefused(await navigate(gw, callback, { porthole_oidc: flow }), 'unreachable');
    // A gateway that has not discovered the provider yet cannot even start.
    const fresh = await gateway(ports[1]!);
    const res = await navigate(fresh, '/api/login/oidc?return=%2Fviewer.html%3Fdesktop%3Dx');
    assertRefused(res, 'unreachable');
    assert.equal(new URL(res.location!, 'https://x.invalid').searchParams.get('return'), '/viewer.html?desktop=x');
    assert.match(fresh.logs.join(''), /the OpenID provider cannot be reached/);
  } finally {
    await provider.start();
  }
  const again = await signInAtProvider(gateways.at(-1)!, USERS[0]!);
  assert.ok((await navigate(gateways.at(-1)!, again.callback, { porthole_oidc: again.flow })).cookies.get('porthole_session'));
});

test('no secret reaches the log', () => {
  const log = gateways.flatMap((g) => g.logs).join('');
  for (const secret of [provider.clientSecret, ...USERS.map((u) => u.password), LOCAL_ALICE.password]) {
    assert.ok(!log.includes(secret), 'a secret reached the log');
  }
});
