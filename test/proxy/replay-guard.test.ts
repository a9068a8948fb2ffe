import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayGuard } from '../../proxy/replay-guard.js';

test('a token id is accepted once, and forgotten only after its token expired', async () => {
  const guard = new ReplayGuard();
  const now = 1_000_000_000_000;
  const exp = now / 1000 + 60;
  assert.equal(await guard.claim('a', exp, now), true);
  assert.equal(await guard.claim('a', exp, now + 1000), false);
  assert.equal(await guard.claim('b', exp, now + 2000), true);
  assert.equal(await guard.claim('a', exp, now + 59_000), false);
  // Long after expiry the entry is swept, so memory does not grow; the verifier refuses the token anyway.
  await guard.claim('c', exp + 1000, now + 120_000);
  assert.equal(guard.size, 1);
});
