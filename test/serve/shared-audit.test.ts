// The audit trail shared by the nodes of a cluster, on a real Redis: two nodes' events in one
// trail (a stream under the prefix), searched on either by time, user and desktop; the user list
// read from the sign-in index beside it; trimmed to the retention; entries Porthole cannot read
// left out with a warning; no secret in it; and with Redis gone, a search is a 503 with a
// sentence and an event that cannot be kept is logged as lost, never dropped without a word.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STATE_UNAVAILABLE } from '../../contract/shared-state.js';
import { startClusterBed, type ClusterBed } from '../bed/cluster-bed.js';
import { waitFor, waitForValue } from '../bed/deadline.js';
import type { RunningGateway, TestUser } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import type { RedisServer } from '../bed/redis.js';
import { RedisAuditTrail } from '../../gateway/state/redis-audit-trail.js';
import { redisClient } from '../../state/redis-connection.js';
import { RedisStore } from '../../state/redis-store.js';

const DESKTOP = '44444444-0000-4000-8000-0000000000a1';
const USERS: TestUser[] = [
  { name: 'alice', password: 'alice-audit-cluster-pw', role: 'user' },
  { name: 'bob', password: 'bob-audit-cluster-pw', role: 'user' },
  { name: 'ada', password: 'ada-audit-cluster-admin-pw', role: 'admin' },
];
let bed: ClusterBed;
let redis: RedisServer;
let a: RunningGateway;
let b: RunningGateway;
let admin: string;

type Entry = { at: string; event: string; user?: string; desktop?: string; client?: string };

before(async () => {
  bed = await startClusterBed({ desktop: DESKTOP, desktopUsers: ['alice', 'bob'], users: USERS });
  redis = bed.redis;
  a = await bed.node();
  b = await bed.node({}, []);
  admin = await b.signIn('ada', 'ada-audit-cluster-admin-pw');
});
after(async () => {
  await a?.close();
  await b?.close();
  await bed?.close();
});

async function search(via: RunningGateway, query = ''): Promise<Entry[]> {
  const answer = await via.api('GET', `/api/audit${query}`, { cookie: admin });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as Entry[];
}

test("both nodes' events are in one trail, searched on either by user, desktop and time, newest last", async () => {
  const start = new Date().toISOString();
  const alice = await a.signIn('alice', 'alice-audit-cluster-pw');
  assert.equal((await b.api('POST', '/api/login', { body: { username: 'bob', password: 'wrong-password' } })).status, 401);
  await b.connect(alice, DESKTOP, { protocols: ['vnc'] });
  const mine = await waitForValue(
    () => search(a, `?user=alice&since=${encodeURIComponent(start)}`),
    (found) => found.some((e) => e.event === 'token.issued'),
    5000,
    "alice's events from both nodes",
  );
  assert.deepEqual(
    mine.map((e) => e.event),
    ['sign-in', 'token.issued'],
    "A's sign-in, then B's token, in one trail, newest last",
  );
  assert.equal(mine[0]!.client, '127.0.0.1');
  const onB = await search(b, `?since=${encodeURIComponent(start)}`);
  assert.ok(
    onB.some((e) => e.event === 'sign-in.refused' && e.user === 'bob'),
    "B's refusal",
  );
  assert.ok(
    onB.some((e) => e.event === 'sign-in' && e.user === 'alice'),
    "A's sign-in, searched on B",
  );
  assert.ok((await search(b, `?desktop=${DESKTOP}`)).every((e) => e.desktop === DESKTOP));
  assert.ok((await search(b, `?desktop=${DESKTOP}`)).some((e) => e.event === 'token.issued'));
  assert.deepEqual(await search(a, `?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`), []);
  assert.ok(Number(redis.cli('XLEN', 'porthole:audit')) >= 4, 'the trail is a stream under the prefix');
  const stored = redis.cli('XRANGE', 'porthole:audit', '-', '+');
  for (const secret of ['alice-audit-cluster-pw', 'wrong-password', alice.split('=')[1]!]) {
    assert.equal(stored.includes(secret), false, 'no password or cookie in the trail');
  }
});

test("the user list counts every node's sign-ins from the index in Redis, not from the stream", async () => {
  await a.signIn('bob', 'bob-audit-cluster-pw');
  await b.signIn('bob', 'bob-audit-cluster-pw');
  const listed = await waitForValue(
    async () => {
      const list = (await a.api('GET', '/api/users', { cookie: admin })).body as Array<{
        name: string;
        signInCount: number;
        signIns: unknown[];
      }>;
      return list.find((u) => u.name === 'bob');
    },
    (found) => (found?.signInCount ?? 0) >= 2,
    5000,
    "bob's two sign-ins",
  );
  const bob = listed!;
  assert.equal(bob.signInCount, 2);
  assert.equal(bob.signIns.length, 2);
  assert.ok(Number(redis.cli('ZSCORE', 'porthole:audit-seen', 'bob')) > Date.now() - 60_000, 'bob is in the index');
  // The list reads the index: an index emptied behind its back lists no sign-ins, though the stream holds them.
  redis.cli('DEL', 'porthole:audit-sign-ins:bob');
  const list = (await b.api('GET', '/api/users', { cookie: admin })).body as Array<{ name: string; signInCount: number }>;
  assert.equal(list.find((u) => u.name === 'bob')?.signInCount, 0);
});

test('the stream is trimmed to the retention on append', async () => {
  // Another prefix, so that its stream can start in 1970: 300 entries far older than any retention.
  const client = redisClient({ url: redis.url, prefix: 'trim:' });
  await client.connect();
  try {
    for (let i = 1; i <= 300; i++) {
      await client.xadd('trim:audit', `${i}-0`, 'e', JSON.stringify({ at: '1970-01-01T00:00:00.000Z', event: 'ancient' }));
    }
    const trail = new RedisAuditTrail(new RedisStore(client, 'trim:'), 400);
    await trail.append({ at: new Date().toISOString(), event: 'recent' });
    const left = await client.xlen('trim:audit');
    // Approximate trimming drops whole nodes of the stream: most of the old ones, maybe not all.
    assert.ok(left < 150, `${left} entries left`);
    assert.deepEqual(
      (await trail.search({ since: new Date(Date.now() - 60_000) })).map((e) => e.event),
      ['recent'],
    );
  } finally {
    client.disconnect();
  }
});

test('entries Porthole cannot read are left out of a search, with a warning', async () => {
  await a.signIn('alice', 'alice-audit-cluster-pw');
  redis.cli('XADD', 'porthole:audit', '*', 'e', 'not json {');
  redis.cli('XADD', 'porthole:audit', '*', 'x', '{"at":"2026-01-01T00:00:00.000Z","event":"forged"}');
  const found = await search(b);
  assert.equal(
    found.some((e) => e.event === 'forged'),
    false,
  );
  assert.ok(found.some((e) => e.event === 'sign-in'));
  assert.ok(
    b.logs.some((l) => l.includes('audit entries in Redis that Porthole cannot read')),
    'said in the log',
  );
});

test('with Redis gone, a search is a 503 with a sentence and an event that cannot be kept is logged as lost', async () => {
  const cookie = await a.signIn('alice', 'alice-audit-cluster-pw');
  const [attempt] = await a.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const reader = new WireReader(a.webSocket(attempt!.url, { cookie }));
  await vncHandshake(reader);
  await redis.stop();
  try {
    await waitFor(async () => (await b.api('GET', '/healthz')).status === 503, 10_000, 'B reports 503');
    const refused = await b.api('GET', '/api/audit', { cookie: admin });
    assert.equal(refused.status, 503);
    assert.equal((refused.body as { error: string }).error, STATE_UNAVAILABLE);
    reader.ws.close(); // the connection's close is an event the trail cannot take now
    await waitFor(
      async () => a.logs.some((l) => l.includes('audit event lost') && l.includes('connection.closed')),
      10_000,
      'the lost event in the service log',
    );
  } finally {
    await redis.start();
  }
  await waitFor(async () => (await b.api('GET', '/healthz')).status === 200, 20_000, 'healthy again');
  assert.equal((await b.api('GET', '/api/audit', { cookie: admin })).status, 200);
});
