// Signing in with the school's directory, through the running gateway (porthole serve as it
// runs, HTTPS on loopback) and a real OpenLDAP: groups and roles, /api/me, filter injection,
// no telling whether a name exists, lockout, the local user of the same name, a group removed
// within the cache bound, the directory down and back, a wrong CA, a wrong bind password, and
// no secret in the log.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { createAuthority } from '../../certs/authority.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { PEOPLE, SCHOOL, SERVICE_PASSWORD, startSlapd, type Slapd } from '../bed/slapd.js';
import { writeTestDriver } from '../bed/test-driver.js';
import { waitForValue } from '../bed/deadline.js';

const CLASS_DESKTOP = '41111111-2222-3333-4444-555555555555';
const CACHE_SECONDS = 1;
const LOCAL_ALICE = { name: 'alice', password: 'alice-local-password', role: 'user' as const, groups: ['local-only'] };
const dir = mkdtempSync(join(tmpdir(), 'porthole-directory-'));
let slapd: Slapd;
let libvirt: string;
let gw: RunningGateway;
const gateways: RunningGateway[] = [];

const password = (uid: string) => SCHOOL.people.find((p) => p.uid === uid)!.password;

function ldapConfig(overrides: Record<string, unknown> = {}) {
  return { directory: { ldap: slapd.config({ nestedGroups: true, cacheSeconds: CACHE_SECONDS, ...overrides }) } };
}

async function gateway(overrides: Record<string, unknown> = {}, bindPassword = SERVICE_PASSWORD): Promise<RunningGateway> {
  const started = await startTestGateway({
    libvirt,
    users: [LOCAL_ALICE],
    config: ldapConfig(overrides),
    env: { PORTHOLE_LDAP_BIND_PASSWORD: bindPassword },
  });
  gateways.push(started);
  return started;
}

before(async () => {
  slapd = await startSlapd();
  const displays = { spice: { port: 15931, password: 'spice-secret' }, vnc: { port: 5936, password: 'vnc-secret' } };
  libvirt = writeTestDriver(join(dir, 'node.xml'), [{ name: 'class-3b-desktop', uuid: CLASS_DESKTOP, groups: ['class-3b'], ...displays }]);
  gw = await gateway();
});

after(async () => {
  for (const g of gateways) await g.close().catch(() => {});
  await slapd?.close();
  rmSync(dir, { recursive: true, force: true });
});

const login = (g: RunningGateway, username: string, pw: string) => g.api('POST', '/api/login', { body: { username, password: pw } });

function assertNoSecret(logs: string[]): void {
  const text = logs.join('');
  for (const secret of [SERVICE_PASSWORD, LOCAL_ALICE.password, ...SCHOOL.people.map((p) => p.password)]) {
    assert.ok(!text.includes(secret), `a secret reached the log: ${secret}`);
  }
}

test('a directory user signs in with exactly their groups and roles, and /api/me answers the same', async () => {
  for (const [uid, principal] of [
    ['dana', { username: 'dana', roles: ['user'], groups: ['class-3b'] }],
    ['hugo', { username: 'hugo', roles: ['helpdesk'], groups: ['helpdesk'] }],
    ['iris', { username: 'iris', roles: ['admin'], groups: ['it-staff'] }],
    ['nora', { username: 'nora', roles: ['user'], groups: ['staff', 'teachers'] }],
    ['paul', { username: 'paul', roles: ['user'], groups: ['lab'] }],
  ] as const) {
    const res = await login(gw, uid, password(uid));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, principal);
    assert.deepEqual((await gw.api('GET', '/api/me', { cookie: res.cookie! })).body, principal);
  }
  // The roles count: helpdesk lists sessions, a user may not; the group opens its desktop.
  const hugo = await gw.signIn('hugo', password('hugo'));
  const dana = await gw.signIn('dana', password('dana'));
  assert.equal((await gw.api('GET', '/api/sessions', { cookie: hugo })).status, 200);
  assert.equal((await gw.api('GET', '/api/sessions', { cookie: dana })).status, 403);
  const ids = ((await gw.api('GET', '/api/desktops', { cookie: dana })).body as { id: string }[]).map((d) => d.id);
  assert.equal(ids.length, 1);
  assert.ok(ids[0]!.endsWith(CLASS_DESKTOP), ids[0]);
  assert.deepEqual((await gw.api('GET', '/api/desktops', { cookie: hugo })).body, []);
});

test("filter injection, unknown names and wrong passwords get the local users' 401, word for word", async () => {
  const local = await login(gw, 'alice', 'not-alices-password');
  assert.equal(local.status, 401);
  const sentence = local.body;
  assert.deepEqual(sentence, { error: 'The user name or password is not right.' });
  // The control: leo's own name and password sign in, so a refusal below is the escaping's doing.
  assert.equal((await login(gw, 'leo', password('leo'))).status, 200);
  for (const name of ['*', ')(uid=*', '*)(|(uid=*', 'le*']) {
    const res = await login(gw, name, password('leo'));
    assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(res.body, sentence);
    assert.equal(res.cookie, undefined);
  }
  assert.deepEqual((await login(gw, 'cora', 'not-coras-password')).body, sentence);
  assert.deepEqual((await login(gw, 'no-such-pupil', 'whatever-password')).body, sentence);
});

test('an unknown name takes about as long as a wrong password (coarsely)', async () => {
  // One attempt per name, so that no name nears its lockout.
  const time = async (name: string) => {
    const started = performance.now();
    assert.equal((await login(gw, name, 'a-wrong-password')).status, 401);
    return performance.now() - started;
  };
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const known: number[] = [];
  const unknown: number[] = [];
  for (const [i, uid] of ['dana', 'cora', 'hugo', 'iris', 'nora', 'paul', 'leo'].entries()) {
    known.push(await time(uid));
    unknown.push(await time(`unknown-${i}`));
  }
  const [k, u] = [median(known), median(unknown)];
  console.log(`wrong password: median ${k.toFixed(1)} ms; unknown name: median ${u.toFixed(1)} ms`);
  assert.ok(Math.abs(k - u) < Math.max(25, 0.5 * Math.max(k, u)), `wrong password ${k.toFixed(1)} ms, unknown name ${u.toFixed(1)} ms`);
});

test('a directory user is locked out after repeated failures, as a local user is', async () => {
  // tess, whom no other test signs in: the rate limit (10 a minute per address and name) stays out of the way.
  let last;
  for (let i = 0; i < 5; i++) last = await login(gw, 'tess', `wrong-${i}`);
  assert.equal(last!.status, 401);
  assert.match((last!.body as { error: string }).error, /Too many failed sign-ins/);
  // The directory takes " TESS" for tess: so does the lockout.
  for (const variant of ['tess', 'TESS', ' Tess ']) {
    const locked = await login(gw, variant, password('tess'));
    assert.equal(locked.status, 429, variant);
    assert.match((locked.body as { error: string }).error, /Too many failed sign-ins for this account/);
  }
});

test('an account locked in the directory is refused as a wrong password is, and signs in again once unlocked', async () => {
  assert.equal((await login(gw, 'vera', password('vera'))).status, 200, 'the control: vera signs in while her account is open');
  await slapd.lockAccount('vera', true);
  try {
    const refused = await login(gw, 'vera', password('vera'));
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { error: 'The user name or password is not right.' });
    assert.equal(refused.cookie, undefined);
  } finally {
    await slapd.lockAccount('vera', false);
  }
  assert.equal((await login(gw, 'vera', password('vera'))).status, 200);
});

test("a local user of the same name signs in as the local user; the directory's password does not", async () => {
  const res = await login(gw, 'alice', LOCAL_ALICE.password);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { username: 'alice', roles: ['user'], groups: ['local-only'] });
  assert.equal((await login(gw, 'alice', password('alice'))).status, 401);
  // The directory matches names without case: "ALICE" is its alice, still not the local one's way in.
  const other = await login(gw, 'ALICE', password('alice'));
  assert.equal(other.status, 401);
  assert.equal(other.cookie, undefined);
});

test('a user removed from a group loses it, and its desktop, at the first request after the cache bound', async (t) => {
  // The groups are read during the sign-in, so no sooner than this.
  const signInStarted = Date.now();
  const cookie = await gw.signIn('dana', password('dana'));
  await slapd.removeMember('class-3b', 'dana');
  t.after(() => slapd.addMember('class-3b', 'dana'));
  const removedAt = Date.now();
  // Within the bound the groups read at sign-in are used (the bound is what is promised, and no more).
  const soon = await gw.api('GET', '/api/me', { cookie });
  if (Date.now() - signInStarted < CACHE_SECONDS * 1000) assert.deepEqual((soon.body as { groups: string[] }).groups, ['class-3b']);
  const desktops = await waitForValue(
    () => gw.api('GET', '/api/desktops', { cookie }),
    (r) => r.status === 200 && (r.body as unknown[]).length === 0,
    10_000,
    'the class desktop gone',
  );
  assert.deepEqual(desktops.body, []);
  assert.ok(Date.now() - removedAt < CACHE_SECONDS * 1000 + 2000, `took ${Date.now() - removedAt} ms`);
  assert.deepEqual((await gw.api('GET', '/api/me', { cookie })).body, { username: 'dana', roles: ['user'], groups: [] });
});

test('a user deleted from the directory is signed out at the first request after the cache bound', async () => {
  const dn = `uid=gone,${PEOPLE}`;
  await slapd.asAdmin((c) =>
    c.add(dn, { objectClass: 'inetOrgPerson', uid: 'gone', cn: 'gone', sn: 'gone', userPassword: 'gone-directory-pw-10' }),
  );
  const cookie = await gw.signIn('gone', 'gone-directory-pw-10');
  assert.equal((await gw.api('GET', '/api/me', { cookie })).status, 200);
  await slapd.asAdmin((c) => c.del(dn));
  const res = await waitForValue(
    () => gw.api('GET', '/api/me', { cookie }),
    (r) => r.status !== 200,
    10_000,
    'signed out',
  );
  assert.equal(res.status, 401);
  // Signed out for good: the sign-in is gone, not only refused this once.
  assert.equal((await gw.api('GET', '/api/me', { cookie })).status, 401);
});

test('a wrong bind password: 503 for directory users with a sentence, the reason in the log, no secret there', async () => {
  const wrong = await gateway({}, 'wrong-service-password');
  const res = await login(wrong, 'dana', password('dana'));
  assert.equal(res.status, 503);
  assert.match((res.body as { error: string }).error, /^The school directory cannot be reached right now/);
  assert.equal((await login(wrong, 'alice', LOCAL_ALICE.password)).status, 200);
  assert.match(wrong.logs.join(''), /invalid credentials.*PORTHOLE_LDAP_BIND_PASSWORD/);
  assert.ok(!wrong.logs.join('').includes('wrong-service-password'));
  assertNoSecret(wrong.logs);
});

test('a directory certificate the configured CA did not sign: no sign-in, and the log says why', async () => {
  const other = await createAuthority('Not the directory CA');
  const caFile = join(dir, 'other-ca.pem');
  writeFileSync(caFile, other.cert);
  const untrusting = await gateway({ ca: caFile });
  const res = await login(untrusting, 'dana', password('dana'));
  assert.equal(res.status, 503);
  assert.equal(res.cookie, undefined);
  assert.match(untrusting.logs.join(''), /certificate is not trusted/);
  assertNoSecret(untrusting.logs);
});

// Last: stops the directory.
test('the directory down: directory users 503 with a sentence, local users sign in; back: sign-in works without a restart', async () => {
  const signedIn = await gw.signIn('hugo', password('hugo'));
  await slapd.stop();
  try {
    const res = await login(gw, 'dana', password('dana'));
    assert.equal(res.status, 503);
    assert.match((res.body as { error: string }).error, /^The school directory cannot be reached right now.*Local accounts still can/);
    assert.equal((await login(gw, 'alice', LOCAL_ALICE.password)).status, 200);
    // A signed-in directory user is not let in on old groups once the bound has passed.
    const refused = await waitForValue(
      () => gw.api('GET', '/api/sessions', { cookie: signedIn }),
      (r) => r.status === 503,
      10_000,
      'the signed-in user refused',
    );
    assert.match((refused.body as { error: string }).error, /school directory cannot be reached/);
  } finally {
    await slapd.start();
  }
  const res = await login(gw, 'dana', password('dana'));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((await gw.api('GET', '/api/sessions', { cookie: signedIn })).status, 200);
  assertNoSecret(gw.logs);
});
