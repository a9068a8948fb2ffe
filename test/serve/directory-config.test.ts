// directory.ldap in the PORTHOLE_CONFIG file: the contract's keys as written there, defaults,
// and every mistake named with its key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../serve/config.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-directory-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'directory-ca.pem'), PEM);

/** The contract's example, as YAML, with `extra` lines in the ldap mapping. */
function load(extra: string[] = [], env: Record<string, string> = { PORTHOLE_LDAP_BIND_PASSWORD: 'bind-secret' }, base = CONTRACT) {
  writeFileSync(join(dir, 'porthole.yaml'), ['directory:', '  ldap:', ...[...base, ...extra].map((l) => `    ${l}`)].join('\n'));
  return loadConfig({ PORTHOLE_CONFIG: 'porthole.yaml', ...env }, dir);
}

const CONTRACT = [
  'url: ldap://dc1.school.example:389, ldap://dc2.school.example:389',
  'startTls: true',
  'ca: directory-ca.pem',
  'bindDn: cn=porthole,ou=services,dc=school,dc=example',
  'userBase: ou=people,dc=school,dc=example',
  'userFilter: (uid={username})',
  'groupBase: ou=groups,dc=school,dc=example',
  'groupFilter: (|(member={dn})(uniqueMember={dn})(memberUid={username}))',
  'groupName: cn',
  'roles: { admin: [it-staff], helpdesk: [helpdesk] }',
];

test("the contract's directory.ldap example configures the directory", () => {
  const ldap = load().directory.ldap!;
  assert.deepEqual(ldap.urls, ['ldap://dc1.school.example:389', 'ldap://dc2.school.example:389']);
  assert.equal(ldap.startTls, true);
  assert.equal(ldap.ca?.toString(), PEM);
  assert.equal(ldap.bindDn, 'cn=porthole,ou=services,dc=school,dc=example');
  assert.equal(ldap.bindPassword, 'bind-secret');
  assert.equal(ldap.userFilter, '(uid={username})');
  assert.equal(ldap.groupBase, 'ou=groups,dc=school,dc=example');
  assert.deepEqual(ldap.roles, { admin: ['it-staff'], helpdesk: ['helpdesk'] });
  assert.equal(ldap.nestedGroups, false);
  assert.equal(ldap.cacheSeconds, 300);
  assert.equal(ldap.timeoutSeconds, 5);
});

test('without directory only local users sign in; defaults fill what is left out', () => {
  assert.deepEqual(loadConfig({}, dir).directory, {});
  const ldap = load(['nestedGroups: true', 'cacheSeconds: 60'], {}, ['url: ldaps://dc1.school.example', 'userBase: dc=school,dc=example'])
    .directory.ldap!;
  assert.equal(ldap.bindDn, undefined);
  assert.equal(ldap.userFilter, '(uid={username})');
  assert.equal(ldap.groupFilter, '(|(member={dn})(uniqueMember={dn})(memberUid={username}))');
  assert.equal(ldap.groupName, 'cn');
  assert.deepEqual(ldap.roles, { admin: [], helpdesk: [] });
  assert.equal(ldap.nestedGroups, true);
  assert.equal(ldap.cacheSeconds, 60);
});

test('mistakes are named with the key and what to write instead, and the bind password is never in them', () => {
  const cases: Array<[string[], RegExp, Record<string, string>?]> = [
    [['bindPassword: x'], /directory\.ldap\.bindPassword is not a setting/],
    [['nestedgroups: true'], /directory\.ldap\.nestedgroups is not a setting/],
    [
      ['startTls: false'],
      /directory\.ldap\.url "ldap:\/\/dc1\.school\.example:389" would send passwords unencrypted: set directory\.ldap\.startTls: true/,
    ],
    [['startTls: yes please'], /directory\.ldap\.startTls must be true or false/],
    [['url: http://dc1.school.example'], /directory\.ldap\.url "http:\/\/dc1\.school\.example" must start with ldap:\/\/ or ldaps:\/\//],
    [['url: ldaps://dc1.school.example/dc=school'], /directory\.ldap\.url .* must be only scheme, host and port/],
    [['ca: missing.pem'], /directory\.ldap\.ca: cannot read missing\.pem/],
    [['userFilter: (uid=alice)'], /directory\.ldap\.userFilter "\(uid=alice\)" must contain \{username\}/],
    [['userFilter: (&(uid={username})'], /directory\.ldap\.userFilter: .*parentheses do not pair up/],
    [['roles: { teacher: [staff] }'], /directory\.ldap\.roles\.teacher: the roles given by groups are admin and helpdesk/],
    [['roles: { admin: 3 }'], /directory\.ldap\.roles\.admin must be a list of group names/],
    [['cacheSeconds: 0'], /directory\.ldap\.cacheSeconds must be a number of seconds above 0/],
    [[], /directory\.ldap\.bindDn needs its password in PORTHOLE_LDAP_BIND_PASSWORD/, {}],
  ];
  for (const [extra, message, env] of cases) {
    const lines = [...CONTRACT.filter((l) => !extra.some((e) => e.split(':')[0] === l.split(':')[0])), ...extra];
    assert.throws(
      () => load([], env ?? { PORTHOLE_LDAP_BIND_PASSWORD: 'bind-secret' }, lines),
      (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        assert.ok(!e.message.includes('bind-secret'));
        return true;
      },
    );
  }
  assert.throws(
    () =>
      load(
        [],
        { PORTHOLE_LDAP_BIND_PASSWORD: 'bind-secret' },
        CONTRACT.filter((l) => !l.startsWith('userBase')),
      ),
    /directory\.ldap\.userBase is missing/,
  );
  assert.throws(
    () =>
      load(
        [],
        { PORTHOLE_LDAP_BIND_PASSWORD: 'bind-secret' },
        CONTRACT.filter((l) => !l.startsWith('bindDn')),
      ),
    /PORTHOLE_LDAP_BIND_PASSWORD is set but directory\.ldap\.bindDn is not/,
  );
});
