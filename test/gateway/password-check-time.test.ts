import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import argon2 from 'argon2';
import { PasswordCheckTime } from '../../gateway/password-check-time.js';
import { UserStore } from '../../gateway/users.js';

/** CPU time (all threads: argon2 runs on libuv's) and wall time that `work` took. */
async function cost(work: () => Promise<unknown>): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall };
}

test('a name with no local password waits as long as a real check took, without doing one', async () => {
  const time = new PasswordCheckTime();
  const hash = await argon2.hash('the right password', { type: argon2.argon2id });
  const checks: number[] = [];
  for (const attempt of ['a wrong password', 'another wrong one', 'the right password', 'a third wrong one']) {
    const { wallMs } = await cost(() => time.check(hash, attempt));
    checks.push(wallMs);
  }
  assert.equal(await time.check(hash, 'the right password'), true);
  assert.equal(await time.check('not a hash', 'anything'), false, 'a malformed hash is a refusal, not a crash');

  const oneCheck = await cost(() => time.check(hash, 'a wrong password'));
  checks.push(oneCheck.wallMs);
  const tenWaits = await cost(() => Promise.all(Array.from({ length: 10 }, () => time.wait())));
  // Each wait lasts about the recorded checks' median (timers fire no sooner than asked)…
  const shortest = Math.min(...checks);
  assert.ok(tenWaits.wallMs >= 0.9 * shortest - 2, `10 waits took ${tenWaits.wallMs} ms, the shortest check ${shortest} ms`);
  // …and ten of them cost less CPU than one check: no argon2 work is done for them.
  assert.ok(tenWaits.cpuMs < oneCheck.cpuMs, `10 waits used ${tenWaits.cpuMs} ms of CPU, one check ${oneCheck.cpuMs} ms`);
});

test('before any check, the first wait is itself a real (decoy) check, so even it takes as long', async () => {
  const time = new PasswordCheckTime();
  const { cpuMs } = await cost(() => time.wait());
  const hash = await argon2.hash('x-password', { type: argon2.argon2id });
  const oneCheck = await cost(() => time.check(hash, 'other'));
  assert.ok(cpuMs >= oneCheck.cpuMs / 2, `the first wait used ${cpuMs} ms of CPU, a check ${oneCheck.cpuMs} ms`);
});

test('the user store answers an unknown name after a wait, and a known one after a check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-check-time-'));
  try {
    const store = new UserStore(dir);
    await store.upsert('carol', 'carol-password', 'user', []);
    assert.equal(await store.authenticate('carol', 'wrong-password'), undefined);
    const unknown = await cost(() => store.authenticate('nobody', 'carol-password'));
    const known = await cost(() => store.authenticate('carol', 'wrong-password'));
    assert.ok(unknown.cpuMs < known.cpuMs, `an unknown name used ${unknown.cpuMs} ms of CPU, a wrong password ${known.cpuMs} ms`);
    assert.deepEqual(await store.authenticate('carol', 'carol-password'), { username: 'carol', roles: ['user'], groups: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
