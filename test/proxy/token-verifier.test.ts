import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { loadOrCreateSigningKey } from '../../gateway/signing-keys.js';
import { TokenIssuer } from '../../gateway/token-issuer.js';
import { ProxyError } from '../../proxy/close.js';
import { CLOCK_TOLERANCE_SECONDS, TokenVerifier } from '../../proxy/token-verifier.js';
import { normalizeIp } from '../../contract/client-address.js';

const alice = { username: 'alice', roles: ['user'], groups: ['class-3b'] };
const dir = mkdtempSync(join(tmpdir(), 'porthole-keys-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey(dir);
const issuer = new TokenIssuer(key, 60, true);
const verifier = new TokenVerifier([[key.kid, key.publicKey]]);

function rejects(fn: () => unknown, code: number, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProxyError && e.code === code && reason.test(e.reason));
}

test('a fresh token verifies with the public key alone and carries its bindings', () => {
  const { token, jti, expiresAt } = issuer.issue(alice, 'lab/uuid', 'vnc', { viewOnly: true, clientIp: '10.0.0.5' });
  const claims = verifier.verify(token, 'vnc', '10.0.0.5');
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.desktop, 'lab/uuid');
  assert.equal(claims.jti, jti);
  assert.equal(claims.viewOnly, true);
  assert.ok(expiresAt.getTime() - Date.now() <= 60_000);
  // The same key file is loaded again, not replaced, on the next start.
  assert.equal(loadOrCreateSigningKey(dir).kid, key.kid);
});

test('wrong protocol, wrong client IP, unknown key and tampering are refused', () => {
  const { token } = issuer.issue(alice, 'lab/uuid', 'spice', { viewOnly: false, clientIp: '10.0.0.5' });
  rejects(() => verifier.verify(token, 'vnc', '10.0.0.5'), 4003, /not valid/);
  rejects(() => verifier.verify(token, 'spice', '10.0.0.6'), 4003, /another network address/);
  rejects(() => verifier.verify(undefined, 'spice', '10.0.0.5'), 4001, /not valid/);
  const [h, p, s] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' })).toString(
    'base64url',
  );
  rejects(() => verifier.verify(`${h}.${forged}.${s}`, 'spice', '10.0.0.5'), 4001, /not valid/);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const foreign = jwt.sign({ sub: 'alice' }, other, { algorithm: 'ES256', keyid: 'someone-else' });
  rejects(() => verifier.verify(foreign, 'spice', '10.0.0.5'), 4001, /not valid/);
  // An HS256 token "signed" with the public key (algorithm confusion) is refused.
  const confused = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: key.kid })).toString('base64url')}.${p}.x`;
  rejects(() => verifier.verify(confused, 'spice', '10.0.0.5'), 4001, /not valid/);
});

test('an expired token is refused with "expired", unless the caller allows it for a live session', () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: 'alice',
    groups: [],
    roles: ['user'],
    desktop: 'lab/u',
    protocol: 'spice',
    viewOnly: false,
    jti: 'j1',
    iat: now - 120,
    exp: now - 60,
  };
  const token = jwt.sign(claims, key.privateKey, {
    algorithm: 'ES256',
    keyid: key.kid,
    issuer: 'porthole-gateway',
    audience: 'porthole-proxy',
  });
  rejects(() => verifier.verify(token, 'spice', '1.2.3.4'), 4001, /expired/);
  assert.equal(verifier.verify(token, 'spice', '1.2.3.4', { ignoreExpiration: true }).jti, 'j1');
});

test('a token stops working at its expiry, to the second, and one issued in the future beyond the clock tolerance is refused', () => {
  const now = Math.floor(Date.now() / 1000);
  const sign = (jti: string, iat: number, exp: number) =>
    jwt.sign(
      { sub: 'alice', groups: [], roles: ['user'], desktop: 'lab/u', protocol: 'vnc', viewOnly: false, jti, iat, exp },
      key.privateKey,
      { algorithm: 'ES256', keyid: key.kid, issuer: 'porthole-gateway', audience: 'porthole-proxy' },
    );
  rejects(() => verifier.verify(sign('at-expiry', now - 60, now), 'vnc', '1.2.3.4'), 4001, /expired/);
  assert.equal(verifier.verify(sign('last-second', now - 58, now + 2), 'vnc', '1.2.3.4').jti, 'last-second');
  assert.equal(verifier.verify(sign('skewed', now + CLOCK_TOLERANCE_SECONDS - 1, now + 60), 'vnc', '1.2.3.4').jti, 'skewed');
  rejects(() => verifier.verify(sign('future', now + 30, now + 90), 'vnc', '1.2.3.4'), 4001, /not valid/);
});

test('a token living longer than 60 seconds is refused even when signed', () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: 'alice',
    groups: [],
    roles: ['user'],
    desktop: 'lab/u',
    protocol: 'vnc',
    viewOnly: false,
    jti: 'j2',
    iat: now,
    exp: now + 3600,
  };
  const token = jwt.sign(claims, key.privateKey, {
    algorithm: 'ES256',
    keyid: key.kid,
    issuer: 'porthole-gateway',
    audience: 'porthole-proxy',
  });
  rejects(() => verifier.verify(token, 'vnc', '1.2.3.4'), 4001, /not valid/);
});

test('IP binding can be turned off; IPv4-mapped addresses match plain ones', () => {
  const unbound = new TokenIssuer(key, 60, false).issue(alice, 'lab/uuid', 'vnc', { viewOnly: false, clientIp: '10.0.0.5' });
  assert.equal(verifier.verify(unbound.token, 'vnc', '192.0.2.1').ip, undefined);
  assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeIp('::1'), '::1');
});

test("a token bound to a browser session works only with that session's cookie", () => {
  const { token } = issuer.issue(alice, 'lab/uuid', 'vnc', { viewOnly: false, clientIp: '10.0.0.5', browserSession: 'cookie-of-alice' });
  assert.equal(verifier.verify(token, 'vnc', '10.0.0.5', { browserSession: 'cookie-of-alice' }).sub, 'alice');
  rejects(() => verifier.verify(token, 'vnc', '10.0.0.5', { browserSession: 'cookie-of-bob' }), 4003, /another browser session/);
  rejects(() => verifier.verify(token, 'vnc', '10.0.0.5'), 4003, /another browser session/);
  assert.doesNotMatch(Buffer.from(token.split('.')[1]!, 'base64url').toString(), /cookie-of-alice/);
});

test('the proxy refuses a private key', () => {
  assert.throws(() => new TokenVerifier([['k', key.privateKey]]), /public keys only/);
});
