// Account lockout through the broker's HTTP API (Fastify's inject): guesses at one user name from
// many addresses lock it, whatever the address and whether the name exists; the lock lapses on
// the lockout's own clock, which these tests move by hand.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../gateway/app.js';
import { AuditLog } from '../../gateway/audit-log.js';
import { DeviceCookies } from '../../gateway/device-cookies.js';
import { createLogger } from '../../gateway/logger.js';
import { ShadowRequests } from '../../gateway/shadowing.js';
import { SignInLockout } from '../../gateway/sign-in-lockout.js';
import { SignInSessions } from '../../gateway/sign-in-sessions.js';
import { loadOrCreateSigningKey } from '../../gateway/signing-keys.js';
import { TokenIssuer } from '../../gateway/token-issuer.js';
import { UserStore } from '../../gateway/users.js';
import { LiveSessions } from '../../proxy/live-sessions.js';
import { CertificatePins } from '../../proxy/tls/certificate-pins.js';
import { PROTOCOLS } from '../../serve/protocols.js';
import { ProcessAvailability } from '../../serve/availability.js';

const availability = new ProcessAvailability();

const ORIGIN = 'https://desk.example.org';
const MINUTE = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'porthole-lockout-'));
const data = join(dir, 'data');
const logs: string[] = [];
let now = Date.parse('2030-01-07T08:00:00Z');
/** Passwords the user store was asked to check. */
let checks = 0;
let app: FastifyInstance;
let audit: AuditLog;

before(async () => {
  const users = new UserStore(data);
  for (const name of ['lena', 'max', 'nora', 'otto', 'pia', 'tom', 'una']) await users.upsert(name, `${name}-password`, 'user', []);
  await users.upsert('ada', 'ada-password', 'admin', []);
  const authenticate = users.authenticate.bind(users);
  users.authenticate = (username, password) => {
    checks++;
    return authenticate(username, password);
  };
  const webRoot = join(dir, 'web');
  mkdirSync(webRoot);
  audit = new AuditLog(data);
  app = await buildApp({
    protocols: PROTOCOLS,
    log: createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          logs.push(String(chunk));
          done();
        },
      }),
    ),
    origins: new Set([ORIGIN]),
    webSocketOrigin: 'wss://desk.example.org',
    users,
    signIns: new SignInSessions(3600_000),
    signInLockout: new SignInLockout({ clock: () => now }),
    devices: new DeviceCookies(data),
    desktops: { survey: async () => ({ desktops: [], unreachable: [] }), get: async () => undefined, power: async () => {} },
    issuer: new TokenIssuer(loadOrCreateSigningKey(data), 60, true),
    liveSessions: new LiveSessions(),
    shadows: new ShadowRequests(audit, () => {}),
    rdpPins: new CertificatePins(data),
    audit,
    availability,
    webRoot,
  });
});

after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = { origin: ORIGIN, 'content-type': 'application/json' };
let nextAddress = 1;

/** A sign-in from an address no earlier attempt used (a botnet: the rate limit per address never trips). */
function signIn(username: string, password: string): Promise<LightMyRequestResponse> {
  const n = nextAddress++;
  return app.inject({
    method: 'POST',
    url: '/api/login',
    headers: json,
    remoteAddress: `198.51.${n >> 8}.${n & 255}`,
    payload: { username, password },
  });
}

async function fail(username: string, times: number): Promise<LightMyRequestResponse> {
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < times; i++) {
    last = await signIn(username, `guess-${i}`);
    assert.equal(last.statusCode, 401, last.body);
  }
  return last!;
}

function lockedFor(res: LightMyRequestResponse, wait: string): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(
    (res.json() as { error: string }).error,
    `Too many failed sign-ins for this account. Try again in ${wait}, or ask your administrator to unlock it.`,
  );
}

const auditEvents = () =>
  readFileSync(audit.path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('five failed sign-ins from five addresses lock the name; the right password is then refused unchecked', async () => {
  await fail('lena', 4);
  const fifth = await fail('lena', 1);
  assert.match((fifth.json() as { error: string }).error, /not right\. Too many failed sign-ins for this account\. Try again in 5 minutes/);

  const before = checks;
  const right = await signIn('lena', 'lena-password');
  lockedFor(right, '5 minutes');
  assert.equal(right.headers['retry-after'], '300');
  assert.equal(right.cookies.length, 0);
  assert.equal(checks, before, 'no password is checked while the name is locked');

  const locked = auditEvents().filter((e) => e.event === 'sign-in.locked' && e.user === 'lena');
  assert.equal(locked.length, 1);
  assert.equal(locked[0]!.minutes, 5);
  const line = logs.find((l) => l.includes('sign-in locked'));
  assert.ok(line, 'the lockout is logged');
  assert.match(line, /"user":"lena"/);
  assert.doesNotMatch(logs.join(''), /guess-|lena-password/);
});

test('a name that does not exist is locked the same way, with the same words', async () => {
  await fail('nobody-here', 5);
  lockedFor(await signIn('nobody-here', 'anything'), '5 minutes');
});

test('an administrator lifts a lock; 404 when the name is not locked, 403 for others', async () => {
  await fail('max', 5);
  lockedFor(await signIn('max', 'max-password'), '5 minutes');
  const ada = (await signIn('ada', 'ada-password')).cookies.find((c) => c.name === 'porthole_session')!;
  const unlock = (name: string, cookie: string) =>
    app.inject({ method: 'DELETE', url: `/api/users/${name}/lockout`, headers: { ...json, cookie } });

  const nora = (await signIn('nora', 'nora-password')).cookies.find((c) => c.name === 'porthole_session')!;
  const notAdmin = await unlock('max', `porthole_session=${nora.value}`);
  assert.equal(notAdmin.statusCode, 403, notAdmin.body);

  const lifted = await unlock('max', `porthole_session=${ada.value}`);
  assert.equal(lifted.statusCode, 204, lifted.body);
  assert.equal((await signIn('max', 'max-password')).statusCode, 200);

  const again = await unlock('max', `porthole_session=${ada.value}`);
  assert.equal(again.statusCode, 404);
  assert.equal((again.json() as { error: string }).error, 'This user name is not locked.');
  assert.ok(auditEvents().some((e) => e.event === 'sign-in.unlocked' && e.user === 'max' && e.admin === 'ada'));
});

test('a successful sign-in starts the count again', async () => {
  await fail('nora', 4);
  assert.equal((await signIn('nora', 'nora-password')).statusCode, 200);
  await fail('nora', 4);
  assert.equal((await signIn('nora', 'nora-password')).statusCode, 200);
});

test('a lock lapses on time', async () => {
  await fail('pia', 5);
  now += 4 * MINUTE;
  lockedFor(await signIn('pia', 'pia-password'), '1 minute');
  now += MINUTE - 1000;
  lockedFor(await signIn('pia', 'pia-password'), '1 second');
  now += 1000;
  assert.equal((await signIn('pia', 'pia-password')).statusCode, 200);
});

test('each further lock of a name lasts twice as long, up to an hour', async () => {
  for (const minutes of [5, 10, 20, 40, 60, 60]) {
    await fail('otto', 5);
    lockedFor(await signIn('otto', 'otto-password'), `${minutes} minutes`);
    now += minutes * MINUTE;
  }
  // Signing in clears the history: the next lock is a first one again.
  assert.equal((await signIn('otto', 'otto-password')).statusCode, 200);
  await fail('otto', 5);
  lockedFor(await signIn('otto', 'otto-password'), '5 minutes');
});

test('guesses sent at once count before their passwords are checked', async () => {
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn('quinn', `guess-${i}`)));
  const codes = all.map((r) => r.statusCode);
  assert.equal(codes.filter((c) => c === 401).length, 5, String(codes));
  assert.equal(codes.filter((c) => c === 429).length, 7, String(codes));
});

test('memory stays bounded: quiet names are forgotten after a day, and the map has a cap', async () => {
  let t = 0;
  const lockout = new SignInLockout({ clock: () => t, maxNames: 3 });
  const failOnce = async (name: string) => {
    assert.equal(await lockout.admit(name), undefined);
    await lockout.settle(name, false);
  };
  for (const name of ['a', 'b', 'c']) await failOnce(name);
  for (let i = 0; i < 4; i++) await failOnce('c');
  assert.ok(await lockout.admit('c'), 'c is locked');
  await failOnce('d');
  await failOnce('e');
  assert.equal(lockout.size, 3, 'the least recent unlocked names made room');
  assert.ok(await lockout.admit('c'), 'the locked name was kept');

  t += 24 * 60 * MINUTE + 5 * MINUTE + 1;
  await failOnce('f');
  assert.equal(lockout.size, 1, 'names quiet for a day are forgotten');
  assert.equal(await lockout.admit('c'), undefined);
});

/** A sign-in from the browser that holds `device` (its porthole_device cookie). */
function signInWith(device: string, username: string, password: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/login',
    headers: { ...json, cookie: `porthole_device=${device}` },
    remoteAddress: '192.0.2.77',
    payload: { username, password },
  });
}

test("others' guesses lock the name, not the browser the user signed in from before; that browser is counted alone", async () => {
  const first = await signIn('tom', 'tom-password'); // the teacher's laptop, some day before
  const cookie = first.cookies.find((c) => c.name === 'porthole_device')!;
  assert.ok(cookie, 'a signed-in browser is given a device cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/api/login');
  const laptop = cookie.value;
  const una = (await signIn('una', 'una-password')).cookies.find((c) => c.name === 'porthole_device')!.value;

  await fail('tom', 5); // a student, from the classroom's computers
  lockedFor(await signIn('tom', 'tom-password'), '5 minutes');
  assert.equal((await signInWith(laptop, 'tom', 'tom-password')).statusCode, 200, 'the teacher signs in from the laptop');
  lockedFor(await signInWith(una, 'tom', 'tom-password'), '5 minutes'); // another user's browser is not the teacher's
  const [name, device] = laptop.split('.');
  lockedFor(await signInWith(`${name}.${device}.forged`, 'tom', 'tom-password'), '5 minutes');

  // Guessing from the trusted browser locks that browser only (a stolen cookie is not a free pass).
  for (let i = 0; i < 5; i++) assert.equal((await signInWith(laptop, 'tom', `guess-${i}`)).statusCode, 401);
  lockedFor(await signInWith(laptop, 'tom', 'tom-password'), '5 minutes');
  const lock = auditEvents()
    .filter((e) => e.event === 'sign-in.locked' && e.user === 'tom')
    .at(-1)!;
  assert.equal(lock.device, 'a browser the user signed in from before');
});
