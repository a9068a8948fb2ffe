// One process alone (no PORTHOLE_REDIS) keeps what must outlive it under PORTHOLE_DATA: after a
// restart its users are still signed in, locked names are still locked, and a revoked user's
// sign-ins stay ended. The state file holds no cookie a browser could use.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { STATE_FILE } from '../../gateway/state-database.js';
import { startTestGateway, type TestUser } from '../bed/gateway.js';
import { writeTestDriver } from '../bed/test-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const users: TestUser[] = [
  { name: 'alice', password: 'alice-password', role: 'user' },
  { name: 'bob', password: 'bob-password', role: 'user' },
  { name: 'lena', password: 'lena-password', role: 'user' },
  { name: 'ada', password: 'ada-password', role: 'admin' },
];

test('a restart signs nobody out, lifts no lock, and brings back no revoked sign-in', async () => {
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [{ name: 'd', uuid: '66666666-0000-4000-8000-000000000001', users: ['alice'] }])}`;
  const dataDir = join(dir, 'data');
  const first = await startTestGateway({ libvirt, users, dataDir });
  let alice: string;
  let bob: string;
  try {
    alice = await first.signIn('alice', 'alice-password');
    bob = await first.signIn('bob', 'bob-password');
    for (let i = 0; i < 5; i++) await first.api('POST', '/api/login', { body: { username: 'lena', password: `wrong-${i}` } });
    assert.equal((await first.api('POST', '/api/login', { body: { username: 'lena', password: 'lena-password' } })).status, 429);
    const ada = await first.signIn('ada', 'ada-password');
    assert.equal((await first.api('DELETE', '/api/users/bob/sessions', { cookie: ada })).status, 200);
  } finally {
    await first.close();
  }

  const file = readFileSync(join(dataDir, STATE_FILE)).toString('latin1');
  assert.ok(!file.includes(alice.split('=')[1]!), 'the state file holds a usable sign-in cookie');
  assert.equal(statSync(join(dataDir, STATE_FILE)).mode & 0o077, 0, 'the state file is readable by its owner only');

  const second = await startTestGateway({ libvirt, users, dataDir });
  try {
    const me = await second.api('GET', '/api/me', { cookie: alice });
    assert.equal(me.status, 200, 'Alice is still signed in');
    assert.equal((me.body as { username: string }).username, 'alice');
    assert.equal((await second.api('GET', '/api/desktops', { cookie: alice })).status, 200);
    assert.equal((await second.api('GET', '/api/me', { cookie: bob })).status, 401, "Bob's revoked sign-in stays ended");
    const locked = await second.api('POST', '/api/login', { body: { username: 'lena', password: 'lena-password' } });
    assert.equal(locked.status, 429, 'the lock on lena outlived the restart');
    assert.match((locked.body as { error: string }).error, /Try again in \d+ minutes?/);
  } finally {
    await second.close();
  }
});
