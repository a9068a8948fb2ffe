import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserStore } from '../../gateway/users.js';
import { waitFor } from '../bed/deadline.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-users-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('users are stored with argon2id hashes, private to the service, and authenticate', async () => {
  const store = new UserStore(dir);
  assert.equal(await store.upsert('alice', 'correct horse', 'user', ['class-3b', 'class-3b']), true);
  const text = readFileSync(store.path, 'utf8');
  assert.match(text, /\$argon2id\$/);
  assert.doesNotMatch(text, /correct horse/);
  assert.equal(statSync(store.path).mode & 0o077, 0);
  assert.deepEqual(await store.authenticate('alice', 'correct horse'), { username: 'alice', roles: ['user'], groups: ['class-3b'] });
  assert.equal(await store.authenticate('alice', 'wrong'), undefined);
  assert.equal(await store.authenticate('nobody', 'correct horse'), undefined);
});

test('another process updating the file is seen without a restart', async () => {
  const serving = new UserStore(dir);
  assert.ok(await serving.authenticate('alice', 'correct horse'));
  // The next write must get a distinct modification time: wait until the clock is past this one's.
  const written = statSync(serving.path).mtimeMs;
  await waitFor(() => Date.now() > written + 1, 10_000, "the clock to pass the user file's modification time", 1);
  assert.equal(await new UserStore(dir).upsert('alice', 'new password', 'helpdesk', []), false);
  assert.equal(await serving.authenticate('alice', 'correct horse'), undefined);
  assert.deepEqual((await serving.authenticate('alice', 'new password'))?.roles, ['helpdesk']);
});

test('bad names, roles and short passwords are refused with the rule', async () => {
  const store = new UserStore(dir);
  await assert.rejects(store.upsert('../etc', 'longenough', 'user', []), /user name/);
  await assert.rejects(store.upsert('bob', 'longenough', 'root' as never, []), /role "root" must be one of/);
  await assert.rejects(store.upsert('bob', 'short', 'user', []), /at least 8 characters/);
  await assert.rejects(store.upsert('bob', 'longenough', 'user', ['<b>']), /group/);
});
