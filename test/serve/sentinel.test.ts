// A Sentinel failover survived: a primary, a replica and three sentinels (redis-server and
// redis-sentinel started here on loopback ports), Porthole on redis-sentinel://. The primary is
// killed; the sentinels promote the replica; the live display connection goes on throughout,
// sign-ins made before still stand, and new sign-ins work again within seconds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { waitFor } from '../bed/deadline.js';
import { startTestGateway, type RunningGateway } from '../bed/gateway.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, startSentinels, type RedisServer, type Sentinels } from '../bed/redis.js';
import { writeTestDriver } from '../bed/test-driver.js';

const DESKTOP = '77777777-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'porthole-sentinel-'));
let primary: RedisServer;
let replica: RedisServer;
let sentinels: Sentinels;
let display: DisplayServer;
let gw: RunningGateway;

/** What one sentinel says of the master: field -> value. */
function masterInfo(port: number): Record<string, string> {
  const lines = spawnSync('redis-cli', ['-p', String(port), 'SENTINEL', 'MASTER', 'porthole'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  const info: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) info[lines[i]!] = lines[i + 1]!;
  return info;
}

before(async () => {
  primary = await startRedis();
  replica = await startRedis({ replicaOf: primary });
  await waitFor(() => /master_link_status:up/.test(replica.cli('INFO', 'replication')), 20_000, 'the replica to sync');
  sentinels = await startSentinels(primary);
  // Sentinels find the replica (INFO every 10 s) and each other (hello every 2 s) before a failover can be agreed.
  await waitFor(
    () => sentinels.ports.every((p) => masterInfo(p)['num-slaves'] === '1' && masterInfo(p)['num-other-sentinels'] === '2'),
    40_000,
    'the sentinels to know the replica and each other',
    250,
  );
  display = await startDisplayServer('echo');
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } },
  ])}`;
  gw = await startTestGateway({
    libvirt,
    users: [{ name: 'alice', password: 'alice-sentinel-pw', role: 'user' }],
    env: { PORTHOLE_REDIS: sentinels.url, PORTHOLE_WORKERS: '1' },
  });
});
after(async () => {
  await gw?.close();
  await display?.close();
  await sentinels?.close();
  await replica?.close();
  await primary?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the primary killed: the live session goes on, sign-ins stand, new sign-ins work again within seconds', async () => {
  const cookie = await gw.signIn('alice', 'alice-sentinel-pw');
  const [attempt] = await gw.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const reader = new WireReader(gw.webSocket(attempt!.url, { cookie }));
  await vncHandshake(reader);
  await waitFor(() => replica.cli('DBSIZE') !== '0', 10_000, 'the sign-in to reach the replica');

  const killedAt = Date.now();
  await primary.stop();
  await waitFor(
    async () => (await gw.api('POST', '/api/login', { body: { username: 'alice', password: 'alice-sentinel-pw' } })).status === 200,
    30_000,
    'a sign-in after the failover',
    250,
  );
  console.log(`# sentinel failover: new sign-ins work again ${Date.now() - killedAt} ms after the primary was killed`);
  assert.match(replica.cli('INFO', 'replication'), /role:master/, 'the replica was promoted');
  assert.equal((await gw.api('GET', '/api/me', { cookie })).status, 200, 'the sign-in made before the failover stands');
  reader.ws.send(Buffer.from('after-failover'));
  assert.equal((await reader.read(14)).toString(), 'after-failover', 'the live display connection went on');
  reader.ws.close();
});
