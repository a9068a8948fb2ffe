// PORTHOLE_WORKERS=2 with Redis: `porthole serve` as its own process forks two workers that share
// the node's one port and their state; a sign-in made through one is known to the other, a
// display connection goes through either, /metrics sums the workers, and SIGTERM drains them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { ensureSelfSignedCertificate } from '../../certs/self-signed.js';
import { UserStore } from '../../gateway/users.js';
import { waitUntilHealthy } from '../bed/serve-health.js';
import { gatewayClient } from '../bed/gateway-client.js';
import { freePort } from '../bed/ports.js';
import { vncHandshake, WireReader } from '../bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../bed/redis.js';
import { recordSecret } from '../bed/secret-record.js';
import { writeTestDriver } from '../bed/test-driver.js';

const BIN = fileURLToPath(new URL('../../../bin/porthole.js', import.meta.url));
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
  const tls = await ensureSelfSignedCertificate('localhost', join(data, 'certs'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: DESKTOP, users: ['alice'], vnc: { port: display.port, password: '' } },
  ])}`;
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      // Not the test runner's context: workers forked under it would report to it, not log.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_TEST_'))),
      PORTHOLE_DATA: data,
      PORTHOLE_LIBVIRT: libvirt,
      PORTHOLE_LISTEN: `127.0.0.1:${port}`,
      PORTHOLE_PUBLIC_URL: `https://localhost:${port}`,
      PORTHOLE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      PORTHOLE_TLS_CERT: tls.cert,
      PORTHOLE_TLS_KEY: tls.key,
      PORTHOLE_REDIS: redis.url,
      PORTHOLE_WORKERS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const client = gatewayClient({ address: '127.0.0.1', port, origin: `https://localhost:${port}`, ca: readFileSync(tls.cert) });
    await waitUntilHealthy(client, 60_000, () => output);
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
    const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const counted = scraped.split('\n').filter((l) => l.startsWith('porthole_proxy_connections_total{'));
    assert.ok(
      counted.some((l) => /result="ok"/.test(l) && l.endsWith(' 4')),
      `the four connections, summed over both workers: ${counted.join('; ')}`,
    );

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
