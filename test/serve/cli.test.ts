// `npx porthole user add` as an operator runs it: a real process, the password on standard input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { UserStore } from '../../gateway/users.js';

const BIN = fileURLToPath(new URL('../../../bin/porthole.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function porthole(args: string[], input: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, PORTHOLE_DATA: dir } });
}

test('user add reads the password from standard input and stores a hash', async () => {
  const added = porthole(['user', 'add', 'carol', '--role', 'helpdesk', '--group', 'it', '--group', 'staff'], 'a long password\n');
  assert.equal(added.status, 0, added.stderr);
  assert.match(added.stdout, /added user carol \(role helpdesk, groups it, staff\)/);
  assert.doesNotMatch(readFileSync(join(dir, 'users.json'), 'utf8'), /a long password/);
  assert.deepEqual(await new UserStore(dir).authenticate('carol', 'a long password'), {
    username: 'carol',
    roles: ['helpdesk'],
    groups: ['it', 'staff'],
  });
  const updated = porthole(['user', 'add', 'carol', '--role', 'admin'], 'another password\n');
  assert.match(updated.stdout, /updated user carol/);
});

test('keys rotate makes a new signing key and keeps the previous one', () => {
  const first = porthole(['keys', 'rotate'], '');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /new token signing key \S+; 1 previous key still verifies; 0 older removed/);
  const second = porthole(['keys', 'rotate'], '');
  assert.match(second.stdout, /1 previous key still verifies; 1 older removed/);
});

test('mistakes are explained and exit non-zero', () => {
  for (const [args, input, message] of [
    [['user', 'add', 'dave'], 'password123\n', /needs --role/],
    [['user', 'add', 'dave', '--role', 'root'], 'password123\n', /--role must be one of user, helpdesk, admin/],
    [
      ['user', 'add', 'dave', '--role', 'user', '--role', 'admin'],
      'password123\n',
      /--role given twice \(user, admin\): a user has one role/,
    ],
    [['user', 'add', 'dave', '--role', 'user'], '', /no password on standard input/],
    [['user', 'add', 'dave', '--role', 'user'], 'short\n', /at least 8 characters/],
    [['user', 'add', 'dave', '--role', 'user', '--colour', 'red'], 'password123\n', /unknown option --colour/],
    [['frobnicate'], '', /usage:/],
  ] as const) {
    const result = porthole([...args], input);
    assert.notEqual(result.status, 0, args.join(' '));
    assert.match(result.stderr, message);
  }
});
