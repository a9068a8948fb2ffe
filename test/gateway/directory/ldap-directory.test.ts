// LdapDirectory against a real OpenLDAP (test/bed/slapd.ts): search then bind, groups from
// groupOfNames, posixGroup and memberOf, nested groups, roles, LDAPS and StartTLS verified
// against the CA, several URLs, a wrong CA and a wrong bind password, the directory stopped and
// started again, and the group cache's bound.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test, type TestContext } from 'node:test';
import { createAuthority } from '../../../certs/authority.js';
import { CachedDirectory } from '../../../gateway/directory/cached-directory.js';
import { DirectoryUnavailableError } from '../../../gateway/directory/directory.js';
import { LdapDirectory } from '../../../gateway/directory/ldap-directory.js';
import type { LdapSettings } from '../../../gateway/directory/ldap-settings.js';
import { createLogger } from '../../../gateway/logger.js';
import { freePort } from '../../bed/ports.js';
import { SCHOOL, SERVICE_PASSWORD, startSlapd, type Slapd } from '../../bed/slapd.js';
import { parseDirectory } from '../../../serve/directory-config.js';

let slapd: Slapd;
before(async () => {
  slapd = await startSlapd();
});
after(async () => {
  await slapd?.close();
});

const password = (uid: string) => SCHOOL.people.find((p) => p.uid === uid)!.password;

/** The bed's directory, read from its configuration as `porthole serve` reads it. */
function settings(overrides: Partial<LdapSettings> = {}): LdapSettings {
  const parsed = parseDirectory(
    { ldap: slapd.config({ nestedGroups: false }) },
    { PORTHOLE_LDAP_BIND_PASSWORD: SERVICE_PASSWORD },
    '/',
    (m) => new Error(m),
  );
  return { ...parsed.ldap!, ...overrides };
}

/** A directory whose log lines are kept, closed when the test ends. */
function directory(t: TestContext, overrides: Partial<LdapSettings> = {}): { dir: LdapDirectory; logs: string[] } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const dir = new LdapDirectory(settings(overrides), createLogger('debug', sink));
  t.after(() => dir.close());
  return { dir, logs };
}

function assertNoSecret(logs: string[]): void {
  const text = logs.join('');
  for (const secret of [SERVICE_PASSWORD, 'wrong-service-password', ...SCHOOL.people.map((p) => p.password)])
    assert.ok(!text.includes(secret), `a secret reached the log: ${text}`);
}

test('a directory user signs in with exactly their groups and roles', async (t) => {
  const { dir } = directory(t);
  assert.deepEqual(await dir.authenticate('dana', password('dana')), { username: 'dana', roles: ['user'], groups: ['class-3b'] });
  assert.deepEqual(await dir.authenticate('hugo', password('hugo')), { username: 'hugo', roles: ['helpdesk'], groups: ['helpdesk'] });
  assert.deepEqual(await dir.authenticate('iris', password('iris')), { username: 'iris', roles: ['admin'], groups: ['it-staff'] });
  // posixGroup: memberUid holds the name, not the DN.
  assert.deepEqual(await dir.authenticate('paul', password('paul')), { username: 'paul', roles: ['user'], groups: ['lab'] });
  assert.deepEqual(await dir.authenticate('leo', password('leo')), { username: 'leo', roles: ['user'], groups: [] });
  // The name as the directory spells it, whatever case was typed.
  assert.equal((await dir.authenticate('DANA', password('dana')))?.username, 'dana');
  assert.deepEqual(await dir.lookup('hugo'), { username: 'hugo', roles: ['helpdesk'], groups: ['helpdesk'] });
  assert.equal(await dir.lookup('nobody-here'), undefined);
});

test('groups within groups count with nestedGroups, and not without', async (t) => {
  assert.deepEqual((await directory(t).dir.authenticate('nora', password('nora')))?.groups, ['teachers']);
  assert.deepEqual((await directory(t, { nestedGroups: true }).dir.authenticate('nora', password('nora')))?.groups, ['staff', 'teachers']);
});

test("without groupBase, groups come from the user entry's memberOf (as Active Directory has it)", async (t) => {
  const { groupBase: _, ...noBase } = settings({ nestedGroups: true });
  const dir = new LdapDirectory(noBase, createLogger('error'));
  t.after(() => dir.close());
  assert.deepEqual((await dir.authenticate('hugo', password('hugo')))?.roles, ['helpdesk']);
  assert.deepEqual((await dir.authenticate('nora', password('nora')))?.groups, ['teachers']);
  // paul's posixGroup names him by memberUid, which memberOf does not follow.
  assert.deepEqual((await dir.authenticate('paul', password('paul')))?.groups, []);
});

test('wrong passwords, unknown names, empty passwords and filter injection are all refused alike', async (t) => {
  const { dir, logs } = directory(t);
  assert.ok(await dir.authenticate('leo', password('leo')), 'the control: leo himself signs in');
  assert.equal(await dir.authenticate('leo', 'not-his-password'), undefined);
  assert.equal(await dir.authenticate('nobody-here', password('leo')), undefined);
  assert.equal(await dir.authenticate('leo', ''), undefined);
  for (const name of ['*', ')(uid=*', '*)(|(uid=*', 'le*', 'leo)(uid=*', '*)(uid=leo']) {
    assert.equal(await dir.authenticate(name, password('leo')), undefined, `${name} must not sign in`);
  }
  assertNoSecret(logs);
});

test('LDAPS works as StartTLS does, and anonymous search when there is no bindDn', async (t) => {
  assert.ok(await directory(t, { urls: [slapd.ldapsUrl], startTls: false }).dir.authenticate('dana', password('dana')));
  const { bindDn: _, bindPassword: __, ...anonymous } = settings();
  const dir = new LdapDirectory(anonymous, createLogger('error'));
  t.after(() => dir.close());
  assert.deepEqual(await dir.authenticate('hugo', password('hugo')), { username: 'hugo', roles: ['helpdesk'], groups: ['helpdesk'] });
});

test('a directory certificate from another CA is refused, with the reason in the log', async (t) => {
  const other = await createAuthority('Not the directory CA');
  for (const urls of [[slapd.url], [slapd.ldapsUrl]]) {
    const { dir, logs } = directory(t, { urls, startTls: urls[0]!.startsWith('ldap:'), ca: other.cert });
    await assert.rejects(
      dir.authenticate('dana', password('dana')),
      (e: Error) => e instanceof DirectoryUnavailableError && /certificate is not trusted/.test(e.message),
    );
    assert.match(
      logs.join(''),
      /"reason":"[^"]*certificate is not trusted[^"]*directory\.ldap\.ca[^"]*","msg":"the directory cannot be reached"/,
    );
    assertNoSecret(logs);
  }
});

test('a wrong bind password is a clear error naming what to check, without the password', async (t) => {
  const { dir, logs } = directory(t, { bindPassword: 'wrong-service-password' });
  await assert.rejects(
    dir.authenticate('dana', password('dana')),
    (e: Error) =>
      e instanceof DirectoryUnavailableError &&
      /refused Porthole's bind as cn=porthole.*invalid credentials.*PORTHOLE_LDAP_BIND_PASSWORD/.test(e.message),
  );
  assert.match(logs.join(''), /PORTHOLE_LDAP_BIND_PASSWORD/);
  assertNoSecret(logs);
});

test('several URLs are tried in order: a dead first one is skipped', async (t) => {
  const dead = `ldap://127.0.0.1:${await freePort()}`;
  const { dir } = directory(t, { urls: [dead, slapd.url] });
  assert.equal((await dir.authenticate('dana', password('dana')))?.username, 'dana');
  const { dir: none } = directory(t, { urls: [dead] });
  await assert.rejects(
    none.authenticate('dana', password('dana')),
    (e: Error) => e instanceof DirectoryUnavailableError && e.message.includes(dead),
  );
});

test('a user removed from a group keeps it until the cache bound, then loses it', async (t) => {
  const cached = new CachedDirectory(directory(t).dir, 400);
  // Only sign-ins through the directory are answered: a removed local user's session does not become hugo's.
  assert.equal(await cached.lookup('hugo'), undefined);
  assert.deepEqual((await cached.authenticate('dana', password('dana')))?.groups, ['class-3b']);
  await slapd.removeMember('class-3b', 'dana');
  t.after(() => slapd.addMember('class-3b', 'dana'));
  const removedAt = Date.now();
  assert.deepEqual((await cached.lookup('dana'))?.groups, ['class-3b'], 'within the bound: the groups read at sign-in');
  const deadline = Date.now() + 10_000;
  let groups: string[] | undefined = ['class-3b'];
  while (groups?.includes('class-3b') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    groups = (await cached.lookup('dana'))?.groups;
  }
  assert.deepEqual(groups, [], 'after the bound: the group is gone');
  assert.ok(Date.now() - removedAt < 400 + 1000, 'and not long after the bound');
});

test('a directory that accepts but never answers is given up after timeoutSeconds, and the next URL serves', async (t) => {
  const held: Socket[] = [];
  const silent = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });
  const url = `ldap://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const asked = Date.now();
  await assert.rejects(
    directory(t, { urls: [url], timeoutSeconds: 1 }).dir.authenticate('dana', password('dana')),
    (e: Error) => e instanceof DirectoryUnavailableError && e.message.includes(url),
  );
  const took = Date.now() - asked;
  assert.ok(took >= 900 && took < 3500, `gave up after ${took} ms`);
  assert.equal(
    (await directory(t, { urls: [url, slapd.url], timeoutSeconds: 1 }).dir.authenticate('dana', password('dana')))?.username,
    'dana',
  );
});

/** Established TCP connections to the directory's StartTLS port. */
function connectionsToDirectory(): number {
  const out = spawnSync('ss', ['-Htn', 'state', 'established', `( dport = :${slapd.port} )`], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.split('\n').filter(Boolean).length;
}

test('connections are kept and reused: one for sign-ins one after another, at most four at once', async (t) => {
  const { dir } = directory(t);
  const before = connectionsToDirectory();
  for (let i = 0; i < 10; i++) assert.ok(await dir.authenticate('dana', password('dana')));
  assert.equal(connectionsToDirectory() - before, 1);
  const all = await Promise.all(Array.from({ length: 12 }, () => dir.authenticate('hugo', password('hugo'))));
  assert.ok(all.every((p) => p?.username === 'hugo'));
  const open = connectionsToDirectory() - before;
  assert.ok(open >= 1 && open <= 4, `${open} connections`);
});

// Last: stops the directory.
test('the directory stopped: a clear error; started again: sign-in works with the same instance', async (t) => {
  const { dir, logs } = directory(t);
  assert.ok(await dir.authenticate('dana', password('dana')));
  await slapd.stop();
  try {
    const asked = Date.now();
    await assert.rejects(dir.authenticate('dana', password('dana')), DirectoryUnavailableError);
    // The kept connection's close is noticed: no wait for the operation timeout (5 s).
    assert.ok(Date.now() - asked < 2500, `the refusal took ${Date.now() - asked} ms`);
    await assert.rejects(dir.lookup('dana'), DirectoryUnavailableError);
  } finally {
    await slapd.start();
  }
  assert.equal((await dir.authenticate('dana', password('dana')))?.username, 'dana');
  assert.match(logs.join(''), /the directory answers again/);
  assertNoSecret(logs);
});
