// Attacks on a cluster, on a real Redis: a display token replayed through the other node, at
// once and later; a sign-in cookie of one deployment presented to another deployment sharing the
// same Redis (another prefix); forged Redis data never lets a session in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { CloseCode } from '../../contract/close-codes.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../bed/redis.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESKTOP = '66666666-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-security-cluster-'));
let redis: RedisServer;
let display: DisplayServer;
let a: RunningGateway;
let b: RunningGateway;
let otherSchool: RunningGateway;

before(async () => {
  redis = await startRedis();
  display = await startDisplayServer('echo');
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['mallory'], vnc: { port: display.port, password: '' } },
  ])}`;
  const users = [{ name: 'mallory', password: 'mallory-cluster-pw', role: 'user' as const }];
  const env = { PORTHOLE_REDIS: redis.url, PORTHOLE_WORKERS: '1' };
  a = await startTestGateway({ libvirt, users, dataDir: join(dir, 'school'), env });
  b = await startTestGateway({ libvirt, users: [], dataDir: join(dir, 'school'), env });
  // Another deployment on the same Redis: its own prefix, its own keys, the same user name.
  otherSchool = await startTestGateway({ libvirt, users, dataDir: join(dir, 'other'), env: { ...env, PORTHOLE_REDIS_PREFIX: 'other:' } });
});
after(async () => {
  for (const gw of [a, b, otherSchool]) await gw?.close();
  await display?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a display token used through node A is refused through node B, even when both are presented at once', async () => {
  const cookie = await a.signIn('mallory', 'mallory-cluster-pw');
  const [attempt] = await a.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const path = new URL(attempt!.url).pathname + new URL(attempt!.url).search;
  const readers = [a, b, a, b].map((gw) => new WireReader(gw.webSocket(`wss://localhost:${gw.port}${path}`, { cookie })));
  const outcomes = await Promise.all(
    readers.map(async (r) => {
      try {
        await vncHandshake(r);
        return 'opened';
      } catch {
        return (await r.closed).code;
      }
    }),
  );
  assert.equal(outcomes.filter((o) => o === 'opened').length, 1, `one connection only: ${outcomes.join(', ')}`);
  assert.equal(outcomes.filter((o) => o === CloseCode.badToken).length, 3, outcomes.join(', '));
  for (const r of readers) r.ws.close();
});

test("another deployment's sign-in cookie and display tokens count for nothing here, on the same Redis", async () => {
  const cookie = await otherSchool.signIn('mallory', 'mallory-cluster-pw');
  assert.equal((await otherSchool.api('GET', '/api/me', { cookie })).status, 200);
  for (const gw of [a, b]) assert.equal((await gw.api('GET', '/api/me', { cookie })).status, 401);
  const [attempt] = await otherSchool.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  // Its token is signed with the other deployment's key: refused by this one's proxy.
  const reader = new WireReader(
    a.webSocket(`wss://localhost:${a.port}${new URL(attempt!.url).pathname}${new URL(attempt!.url).search}`, { cookie }),
  );
  assert.equal((await reader.closed).code, CloseCode.badToken);
});
