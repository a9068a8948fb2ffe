// directory.oidc and limits in the PORTHOLE_CONFIG file: the contract's keys as written there,
// defaults, the client secret from the environment only, and every mistake named with its key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../serve/config.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-oidc-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'provider-ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

function load(yaml: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, 'porthole.yaml'), yaml);
  return loadConfig({ PORTHOLE_CONFIG: 'porthole.yaml', ...env }, dir);
}

const CONTRACT_OIDC = `directory:
  oidc:
    issuer: https://accounts.example.com
    clientId: porthole
    label: School account
    usernameClaim: preferred_username
    groupsClaim: groups
    roles: { admin: [it-staff], helpdesk: [helpdesk] }
`;

test("the contract's directory.oidc example configures the provider, the secret from PORTHOLE_OIDC_CLIENT_SECRET", () => {
  const oidc = load(CONTRACT_OIDC, { PORTHOLE_OIDC_CLIENT_SECRET: 'the-client-secret' }).directory.oidc!;
  assert.deepEqual(
    { ...oidc },
    {
      issuer: 'https://accounts.example.com',
      clientId: 'porthole',
      clientSecret: 'the-client-secret',
      label: 'School account',
      usernameClaim: 'preferred_username',
      groupsClaim: 'groups',
      roles: { admin: ['it-staff'], helpdesk: ['helpdesk'] },
      scopes: ['profile', 'email'],
      clockSkewSeconds: 60,
      timeoutSeconds: 10,
    },
  );
  const withCa = load(`${CONTRACT_OIDC}    ca: provider-ca.pem\n    clockSkewSeconds: 0\n    scopes: [openid, profile, groups]\n`).directory
    .oidc!;
  assert.match(withCa.ca!.toString(), /BEGIN CERTIFICATE/);
  assert.equal(withCa.clockSkewSeconds, 0);
  assert.deepEqual(withCa.scopes, ['profile', 'groups']);
  assert.equal(withCa.clientSecret, undefined);
});

test('directory.oidc mistakes are named with their key', () => {
  for (const [extra, message] of [
    ['    clientSecret: x\n', /directory\.oidc\.clientSecret is not a setting/],
    ['    clockSkewSeconds: 301\n', /directory\.oidc\.clockSkewSeconds must be a number of seconds from 0 to 300/],
    ['    ca: missing.pem\n', /directory\.oidc\.ca: cannot read missing\.pem/],
  ] as const)
    assert.throws(
      () => load(`${CONTRACT_OIDC}${extra}`),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      extra,
    );
  assert.throws(() => load(CONTRACT_OIDC.replace('https://accounts', 'http://accounts')), /must be an https:\/\/ URL/);
  assert.throws(() => load(CONTRACT_OIDC.replace('    clientId: porthole\n', '')), /directory\.oidc\.clientId is missing/);
  assert.throws(
    () => load('publicUrl: https://localhost:8443\n', { PORTHOLE_OIDC_CLIENT_SECRET: 'x' }),
    /PORTHOLE_OIDC_CLIENT_SECRET is set but directory\.oidc is not/,
  );
});

test("the contract's limits example, and limits' mistakes named with their key", () => {
  const limits = load('limits:\n  sessionsPerUser: 2\n  groups:\n    class-3b: { sessions: 30, runningDesktops: 25 }\n').limits;
  assert.deepEqual(limits, { sessionsPerUser: 2, groups: { 'class-3b': { sessions: 30, runningDesktops: 25 } } });
  assert.deepEqual(load('logLevel: info\n').limits, { groups: {} });
  for (const [yaml, message] of [
    ['limits: { sessionsPerUser: -1 }', /limits\.sessionsPerUser must be a whole number/],
    ['limits: { sessionPerUser: 2 }', /limits\.sessionPerUser is not a setting/],
    ['limits: { groups: { lab: { session: 3 } } }', /limits\.groups\.lab\.session is not a setting/],
    ['limits: { groups: { lab: { runningDesktops: 1.5 } } }', /limits\.groups\.lab\.runningDesktops must be a whole number/],
  ] as const)
    assert.throws(
      () => load(`${yaml}\n`),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      yaml,
    );
});
