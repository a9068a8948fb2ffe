import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SigningKeyRing } from '../../gateway/signing-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-ring-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a ring starts with one private key, kept private, and its public key beside it', () => {
  const ring = new SigningKeyRing(join(dir, 'a'));
  assert.equal(ring.all().length, 1);
  const files = readdirSync(ring.dir).sort();
  assert.equal(files.length, 2);
  const privateFile = files.find((f) => !f.endsWith('.pub.pem'))!;
  assert.equal(statSync(join(ring.dir, privateFile)).mode & 0o077, 0);
  assert.equal(new SigningKeyRing(join(dir, 'a')).current().kid, ring.current().kid, 'the same key on the next start');
});

test('rotation: the new key signs, the previous one verifies, older ones are removed', () => {
  const ring = new SigningKeyRing(join(dir, 'b'));
  const first = ring.current().kid;
  const second = ring.rotate().current.kid;
  assert.notEqual(second, first);
  assert.deepEqual(
    ring.all().map((k) => k.kid),
    [first, second],
  );
  const { current, removed } = ring.rotate();
  assert.equal(removed, 1);
  assert.deepEqual(
    ring.all().map((k) => k.kid),
    [second, current.kid],
  );
  // Another process (the serving gateway) sees the rotation on refresh.
  const other = new SigningKeyRing(join(dir, 'b'));
  assert.equal(other.current().kid, current.kid);
});

test('the single key of an earlier data directory becomes the oldest of the ring', () => {
  const keys = join(dir, 'c', 'keys');
  mkdirSync(keys, { recursive: true });
  writeFileSync(
    join(keys, 'token-signing.pem'),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const ring = new SigningKeyRing(join(dir, 'c'));
  assert.equal(ring.all().length, 1);
  const legacy = ring.current().kid;
  ring.rotate();
  assert.equal(ring.all()[0]!.kid, legacy);
});
