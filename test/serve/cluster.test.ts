// Several Porthole processes as one, on a real Redis (redis-server started here): two gateways
// share PORTHOLE_REDIS and one data directory (users, signing keys). What one sees the other sees
// (sign-ins, lockouts, live sessions, revocations, single use of tokens); a restart keeps
// sign-ins; Redis stopped, paused or refusing is a 503 with a sentence and never a session let
// in, and the live display connections go on; each process recovers by itself.
import { hostname } from 'node:os';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloseCode } from '../../contract/close-codes.js';
import { createAuthority } from '../../certs/authority.js';
import { STATE_UNAVAILABLE } from '../../contract/shared-state.js';
import { startClusterBed, type ClusterBed } from '../bed/cluster-bed.js';
import { waitFor } from '../bed/deadline.js';
import type { RunningGateway, TestUser } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../bed/redis.js';

const DESKTOP = '44444444-0000-4000-8000-000000000001';
const USERS: TestUser[] = [
  { name: 'alice', password: 'alice-cluster-pw', role: 'user' },
  { name: 'bob', password: 'bob-cluster-pw-22', role: 'user' },
  { name: 'ada', password: 'ada-admin-cluster-pw', role: 'admin' },
];
let bed: ClusterBed;
let redis: RedisServer;
let a: RunningGateway;
let b: RunningGateway;

const node = (env: Record<string, string> = {}, users = USERS): Promise<RunningGateway> => bed.node(env, users);

before(async () => {
  bed = await startClusterBed({ desktop: DESKTOP, desktopUsers: ['alice', 'bob'], users: USERS, redisPassword: 'redis-cluster-secret-9' });
  redis = bed.redis;
  a = await node();
  b = await node({}, []);
});
after(async () => {
  await a?.close();
  await b?.close();
  await bed?.close();
});

/** A VNC connection through `via` with a token `from` issued; resolves once the display's handshake is through. */
async function openVnc(from: RunningGateway, via: RunningGateway, cookie: string): Promise<{ reader: WireReader; token: string }> {
  const [attempt] = await from.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const url = attempt!.url.replace(`:${from.port}/`, `:${via.port}/`);
  const reader = new WireReader(via.webSocket(url, { cookie }));
  await vncHandshake(reader);
  return { reader, token: attempt!.token };
}

/** Bytes go through the display (the synthetic one echoes them). */
async function echoes(reader: WireReader): Promise<void> {
  reader.ws.send(Buffer.from('ping-through'));
  assert.equal((await reader.read(12)).toString(), 'ping-through');
}

/** One sample's value from a node's metrics listener (0 when absent). */
async function sample(gw: RunningGateway, series: string): Promise<number> {
  const line = (await gw.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test('a sign-in on one node works on the other; signing out on the other ends it everywhere', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  assert.equal(((await b.api('GET', '/api/me', { cookie })).body as { username: string }).username, 'alice');
  assert.equal((await b.api('POST', '/api/logout', { cookie })).status, 204);
  assert.equal((await a.api('GET', '/api/me', { cookie })).status, 401);
});

test('a token is single use across nodes: used on B, refused on A and on B again', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const { reader, token } = await openVnc(a, b, cookie);
  await echoes(reader);
  for (const via of [a, b]) {
    const again = new WireReader(via.webSocket(`wss://localhost:${via.port}/ws/vnc?token=${token}`, { cookie }));
    const closed = await again.closed;
    assert.equal(closed.code, CloseCode.badToken, `replay through ${via === a ? 'A' : 'B'}`);
    assert.match(closed.reason, /already used/);
  }
  reader.ws.close();
});

test('an admin on B lists a session carried by A and ends it there', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const { reader } = await openVnc(a, a, cookie);
  const admin = await b.signIn('ada', 'ada-admin-cluster-pw');
  let id = '';
  let carrier = '';
  await waitFor(
    async () => {
      const list = (await b.api('GET', '/api/sessions', { cookie: admin })).body as Array<{ id: string; user: string; node?: string }>;
      const found = list.find((s) => s.user === 'alice');
      [id, carrier] = [found?.id ?? '', found?.node ?? ''];
      return id !== '';
    },
    10_000,
    "B lists A's session",
  );
  // Which process carries it, named alike by both (A lists its own sessions with its own name).
  assert.match(carrier, new RegExp(`^${hostname()}:\\d+:[0-9a-f]{8}$`));
  const onA = (await a.api('GET', '/api/sessions', { cookie: await a.signIn('ada', 'ada-admin-cluster-pw') })).body as Array<{
    id: string;
    node?: string;
  }>;
  assert.equal(onA.find((s) => s.id === id)?.node, carrier);
  // Each process counts what it carries, labelled with its node.
  const series = `porthole_active_sessions{protocol="vnc",node="${hostname()}"}`;
  assert.equal(await sample(a, series), 1);
  assert.equal(await sample(b, series), 0);
  assert.equal((await b.api('DELETE', `/api/sessions/${id}`, { cookie: admin })).status, 204);
  const closed = await reader.closed;
  assert.equal(closed.code, CloseCode.endedByAdmin);
  await waitFor(
    async () => !((await b.api('GET', '/api/sessions', { cookie: admin })).body as Array<{ id: string }>).some((s) => s.id === id),
    10_000,
    'the ended session leaves the list',
  );
});

test("a session opened or ended changes one field of its node's list; a list lost in Redis is written anew", async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const admin = await b.signIn('ada', 'ada-admin-cluster-pw');
  const listed = async () => ((await b.api('GET', '/api/sessions', { cookie: admin })).body as Array<{ id: string; user: string }>).length;
  const first = await openVnc(a, a, cookie);
  const second = await openVnc(a, a, cookie);
  await waitFor(async () => (await listed()) === 2, 10_000, "B lists A's two sessions");
  const hashes = () => redis.cli('KEYS', 'porthole:node-sessions:*').split('\n').filter(Boolean);
  const fields = () => hashes().reduce((n, key) => n + Number(redis.cli('HLEN', key)), 0);
  first.reader.ws.close();
  await waitFor(async () => fields() === 1 && (await listed()) === 1, 10_000, 'the ended session deleted from the list');
  for (const key of hashes()) redis.cli('DEL', key); // as if Redis had lost it
  await waitFor(async () => (await listed()) === 1 && fields() === 1, 10_000, "A's list written anew");
  second.reader.ws.close();
  await waitFor(async () => (await listed()) === 0, 10_000, 'no session left');
});

test('a revocation on B signs the user out on A and closes their desktop there', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const { reader } = await openVnc(a, a, cookie);
  await waitFor(async () => (await b.gateway.proxy.sessions.size) === 0, 1000, 'B carries nothing');
  const admin = await b.signIn('ada', 'ada-admin-cluster-pw');
  await waitFor(
    async () => ((await b.api('GET', '/api/sessions', { cookie: admin })).body as unknown[]).length > 0,
    10_000,
    "B lists A's session",
  );
  const revoked = await b.api('DELETE', '/api/users/alice/sessions', { cookie: admin });
  assert.equal(revoked.status, 200);
  assert.ok((revoked.body as { signIns: number }).signIns >= 1);
  assert.equal((await reader.closed).code, CloseCode.endedByAdmin);
  assert.equal((await a.api('GET', '/api/me', { cookie })).status, 401);
});

test('a lockout made on A holds on B', async () => {
  for (let i = 0; i < 5; i++)
    assert.equal((await a.api('POST', '/api/login', { body: { username: 'bob', password: `wrong-${i}` } })).status, 401);
  const onB = await b.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } });
  assert.equal(onB.status, 429);
  assert.match((onB.body as { error: string }).error, /Too many failed sign-ins/);
  const admin = await b.signIn('ada', 'ada-admin-cluster-pw');
  assert.equal((await a.api('DELETE', '/api/users/bob/lockout', { cookie: admin })).status, 204, 'unlocked through A');
  assert.equal((await b.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } })).status, 200);
});

test('a node restart keeps sign-ins', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  await a.close();
  a = await node({}, []);
  assert.equal(((await a.api('GET', '/api/me', { cookie })).body as { username: string }).username, 'alice');
});

test('Redis stopped: 503 with a sentence for new work, /healthz 503, live connections go on; back by itself when Redis returns', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const { reader } = await openVnc(a, b, cookie);
  await redis.stop();
  await waitFor(async () => (await a.api('GET', '/healthz')).status === 503, 10_000, 'A reports 503');
  const healthz = await b.api('GET', '/healthz');
  assert.equal(healthz.status, 503);
  assert.equal((healthz.body as { error: string }).error, STATE_UNAVAILABLE);
  const login = await a.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } });
  assert.equal(login.status, 503);
  assert.equal((login.body as { error: string }).error, STATE_UNAVAILABLE);
  const me = await a.api('GET', '/api/me', { cookie });
  assert.equal(me.status, 503, 'a sign-in that cannot be read is not let in');
  await echoes(reader); // the live display connection goes on
  await redis.start();
  for (const gw of [a, b]) await waitFor(async () => (await gw.api('GET', '/healthz')).status === 200, 20_000, 'healthy again');
  assert.equal(
    ((await b.api('GET', '/api/me', { cookie })).body as { username: string }).username,
    'alice',
    'the sign-in outlived the Redis restart',
  );
  await echoes(reader);
  reader.ws.close();
});

test('Redis paused (a slow Redis): the nodes fail closed within seconds and recover when it answers; the metrics say so', async () => {
  await waitFor(async () => (await sample(a, 'porthole_redis_ping_seconds_count')) > 0, 5_000, "A's first timed PING");
  assert.equal(await sample(a, 'porthole_redis_up'), 1);
  const failedPings = await sample(a, 'porthole_redis_errors_total{kind="ping"}');
  redis.pause();
  try {
    await waitFor(async () => (await a.api('GET', '/healthz')).status === 503, 15_000, 'A reports 503');
    const login = await a.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } });
    assert.equal(login.status, 503);
    assert.equal(await sample(a, 'porthole_redis_up'), 0, 'porthole_redis_up while Redis does not answer');
  } finally {
    redis.resume();
  }
  await waitFor(async () => (await a.api('GET', '/healthz')).status === 200, 15_000, 'healthy again');
  assert.equal((await a.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } })).status, 200);
  assert.equal(await sample(a, 'porthole_redis_up'), 1);
  assert.ok((await sample(a, 'porthole_redis_errors_total{kind="ping"}')) > failedPings, 'the PINGs that timed out are counted');
});

test('Redis data that does not parse is a clear 503, never a session let in', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const key = `porthole:signin:${createHash('sha256').update(cookie.split('=')[1]!).digest('base64url')}`;
  redis.cli('HDEL', key, 'binding');
  const me = await a.api('GET', '/api/me', { cookie });
  assert.equal(me.status, 503);
  assert.equal((me.body as { error: string }).error, STATE_UNAVAILABLE);
  assert.ok(
    a.logs.some((l) => l.includes('holds data Porthole cannot read')),
    'the log says which key',
  );
  redis.cli('HSET', 'porthole:lockout:bob', 'failures', 'many');
  assert.equal((await b.api('POST', '/api/login', { body: { username: 'bob', password: 'bob-cluster-pw-22' } })).status, 503);
  redis.cli('DEL', 'porthole:lockout:bob');
});

test('another deployment (another prefix) on the same Redis refuses this one’s cookies', async () => {
  const cookie = await a.signIn('alice', 'alice-cluster-pw');
  const other = await node({ PORTHOLE_REDIS_PREFIX: 'other-school:' }, []);
  try {
    assert.equal((await other.api('GET', '/api/me', { cookie })).status, 401);
  } finally {
    await other.close();
  }
});

test('a wrong Redis password, or a rediss:// certificate from another CA, stops the start with the reason', async () => {
  await assert.rejects(
    node({ PORTHOLE_REDIS: `redis://127.0.0.1:${redis.port}` }, []),
    /PORTHOLE_REDIS: cannot use Redis: .*(NOAUTH|WRONGPASS|auth)/i,
  );
  await assert.rejects(node({ PORTHOLE_REDIS: `redis://:not-the-password@127.0.0.1:${redis.port}` }, []), /WRONGPASS|invalid/i);
  const tls = await startRedis({ tls: true });
  try {
    const stranger = join(bed.dir, 'other-ca.pem');
    writeFileSync(stranger, (await createAuthority('Not the Redis CA')).cert);
    await assert.rejects(
      node({ PORTHOLE_REDIS: tls.tls!.url, PORTHOLE_REDIS_CA: stranger }, []),
      /PORTHOLE_REDIS: cannot use Redis: .*certificate/i,
    );
    const trusted = await node({ PORTHOLE_REDIS: tls.tls!.url, PORTHOLE_REDIS_CA: tls.tls!.caFile }, []);
    try {
      assert.equal((await trusted.api('GET', '/healthz')).status, 200);
      assert.equal((await trusted.api('POST', '/api/login', { body: { username: 'alice', password: 'alice-cluster-pw' } })).status, 200);
    } finally {
      await trusted.close();
    }
  } finally {
    await tls.close();
  }
});
