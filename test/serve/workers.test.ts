// PORTHOLE_WORKERS=2 with Redis: `porthole serve` as its own process forks two workers that share
// the node's one port and their state; a sign-in made through one is known to the other, a
// display connection goes through either, /metrics sums the workers, and SIGTERM drains them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { UserStore } from '../../gateway/users.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../bed/redis.js';
import { recordSecret } from '../bed/secret-record.js';
import { serve } from '../bed/served.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESKTOP = '55555555-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-workers-'));
let redis: RedisServer;
let display: DisplayServer;

before(async () => {
  redis = await startRedis();
  display = await startDisplayServer('echo');
});
after(async () => {
  await display?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('two workers on one port share sign-ins and tokens; /metrics sums them; SIGTERM stops them all', async () => {
  const data = join(dir, 'data');
  await new UserStore(data).upsert('alice', 'alice-workers-pw', 'user', []);
  recordSecret('user password', 'alice-workers-pw');
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } },
  ])}`;
  const served = await serve({ data, libvirt, env: { PORTHOLE_REDIS: redis.url, PORTHOLE_WORKERS: '2' }, healthyWithinMs: 60_000 });
  const { child, client, exited } = served;
  try {
    const workers = () =>
      spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
    assert.equal(workers().length, 2, 'two worker processes under the primary');

    // Round robin spreads these over both workers; each knows the sign-in and honours single use.
    const cookie = await client.signIn('alice', 'alice-workers-pw');
    for (let i = 0; i < 6; i++) assert.equal((await client.api('GET', '/api/me', { cookie })).status, 200);
    for (let i = 0; i < 4; i++) {
      const [attempt] = await client.connect(cookie, DESKTOP, { protocols: ['vnc'] });
      const reader = new WireReader(client.webSocket(attempt!.url, { cookie }));
      await vncHandshake(reader);
      const replay = new WireReader(client.webSocket(attempt!.url, { cookie }));
      assert.match((await replay.closed).reason, /already used/);
      reader.ws.close();
    }
    const scraped = await (await fetch(served.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
    const counted = scraped.split('\n').filter((l) => l.startsWith('porthole_proxy_connections_total{'));
    assert.ok(
      counted.some((l) => /result="ok"/.test(l) && l.endsWith(' 4')),
      `the four connections, summed over both workers: ${counted.join('; ')}`,
    );

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    served.kill();
  }
});
