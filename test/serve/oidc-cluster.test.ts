// A sign-in through a real OpenID provider (test/bed/oidc-provider.ts) on node A holds on node B
// of the same cluster (a real Redis): B finds the user's groups from the ID token in Redis, where
// they expire with the sign-in, and shows the desktops of those groups; the same user signing in
// with a directory password later would replace them everywhere.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { startOidcProvider, type OidcTestProvider, type OidcUser } from '../bed/oidc-provider.js';
import { freePort } from '../bed/ports.js';
import { startRedis, type RedisServer } from '../bed/redis.js';
import { recordSecret } from '../bed/secret-record.js';
import { writeTestDriver } from '../bed/test-driver.js';

const CLASS_DESKTOP = '0c1d0000-0000-4000-8000-0000000000c1';
const LAB_DESKTOP = '0c1d0000-0000-4000-8000-0000000000c2';
const OLGA: OidcUser = { username: 'olga', password: 'olga-provider-cluster-pw', groups: ['class-3b'] };
const dir = mkdtempSync(join(tmpdir(), 'porthole-oidc-cluster-'));
let provider: OidcTestProvider;
let redis: RedisServer;
let a: RunningGateway;
let b: RunningGateway;
let agent: Agent;

before(async () => {
  const port = await freePort();
  provider = await startOidcProvider({ redirectUris: [`https://localhost:${port}/api/login/oidc/callback`], users: [OLGA] });
  redis = await startRedis();
  const libvirt = writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class-3b-desktop', uuid: CLASS_DESKTOP, groups: ['class-3b'], vnc: { port: 5999, password: 'vnc-secret' } },
    { name: 'lab-desktop', uuid: LAB_DESKTOP, groups: ['lab'], vnc: { port: 5998, password: 'vnc-secret' } },
  ]);
  const options = {
    libvirt,
    users: [],
    dataDir: join(dir, 'data'),
    config: { directory: { oidc: provider.config() } },
    env: { PORTHOLE_OIDC_CLIENT_SECRET: provider.clientSecret, PORTHOLE_REDIS: redis.url, PORTHOLE_WORKERS: '1' },
  };
  a = await startTestGateway({ ...options, port });
  // B on its own data directory: nothing of A's reaches it but through Redis.
  b = await startTestGateway({ ...options, dataDir: join(dir, 'data-b') });
  agent = new Agent({ connect: { ca: a.ca } });
});
after(async () => {
  await a?.close();
  await b?.close();
  await agent?.close();
  await provider?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A's answer to a browser's navigation (no redirect followed): where it sends it, and the cookies it sets. */
async function navigate(path: string, cookie?: string): Promise<{ status: number; location: string | null; cookies: Map<string, string> }> {
  const res = await fetch(`${a.origin}${path}`, {
    redirect: 'manual',
    dispatcher: agent,
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(30_000),
  });
  const cookies = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';', 1);
    const eq = pair!.indexOf('=');
    cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  recordSecret('sign-in cookie', cookies.get('porthole_session'));
  recordSecret('OIDC flow cookie', cookies.get('porthole_oidc'));
  await res.arrayBuffer();
  return { status: res.status, location: res.headers.get('location'), cookies };
}

test("a provider user signed in on A is known on B with their provider's groups, kept in Redis for the sign-in's life", async () => {
  const start = await navigate('/api/login/oidc');
  assert.equal(start.status, 302);
  const flow = start.cookies.get('porthole_oidc')!;
  const back = await provider.signIn(start.location!, OLGA.username, OLGA.password);
  const done = await navigate(`${back.pathname}${back.search}`, `porthole_oidc=${flow}`);
  assert.equal(done.status, 302);
  const session = done.cookies.get('porthole_session');
  assert.ok(session, 'signed in on A');
  const cookie = `porthole_session=${session}`;

  const me = await b.api('GET', '/api/me', { cookie });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.deepEqual((me.body as { username: string; groups: string[] }).groups, ['class-3b']);
  const desktops = await b.api('GET', '/api/desktops', { cookie });
  assert.equal(desktops.status, 200, JSON.stringify(desktops.body));
  assert.deepEqual(
    (desktops.body as Array<{ id: string }>).map((d) => d.id),
    [CLASS_DESKTOP],
    "B shows the desktops of the provider's groups, and only those",
  );
  const ttl = Number(redis.cli('PTTL', 'porthole:oidc-principal:olga'));
  assert.ok(ttl > 0 && ttl <= 12 * 3_600_000, `expires with the sign-in (PTTL ${ttl})`);

  // Data in Redis that is not Porthole's is refused on B, never believed.
  redis.cli('SET', 'porthole:oidc-principal:olga', '{"roles":"admin"}');
  assert.equal((await b.api('GET', '/api/desktops', { cookie })).status, 503);
});
