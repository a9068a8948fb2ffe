// Porthole nodes as one cluster, for the cluster tests: a real Redis, a synthetic VNC display
// (it echoes what it is sent) as the one desktop, and nodes started on demand that share the
// Redis and one data directory (users, signing keys), each with PORTHOLE_WORKERS=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDisplayServer, type DisplayServer } from '../../bench/display-server.js';
import { startTestGateway, type RunningGateway, type TestUser } from './gateway.js';
import { startRedis, type RedisServer } from './redis.js';
import { writeTestDriver } from './test-driver.js';

export interface ClusterBed {
  /** A directory of the test's own, removed by close(). */
  dir: string;
  redis: RedisServer;
  display: DisplayServer;
  /** A node on the shared Redis and data directory; `users` are written to the directory first. */
  node(env?: Record<string, string>, users?: TestUser[]): Promise<RunningGateway>;
  /** Stops the display and Redis (the nodes are the tests' to close). */
  close(): Promise<void>;
}

export async function startClusterBed(options: {
  /** The desktop's uuid, opened over VNC by `desktopUsers`. */
  desktop: string;
  desktopUsers: string[];
  /** Written to the data directory by node() unless it is given others. */
  users: TestUser[];
  redisPassword?: string;
}): Promise<ClusterBed> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-cluster-'));
  const data = join(dir, 'data');
  const redis = await startRedis(options.redisPassword ? { password: options.redisPassword } : {});
  const display = await startDisplayServer('echo');
  const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
    { name: 'class', uuid: options.desktop, users: options.desktopUsers, vnc: { port: display.port, password: '' } },
  ])}`;
  return {
    dir,
    redis,
    display,
    node: (env = {}, users = options.users) =>
      startTestGateway({ libvirt, users, dataDir: data, env: { PORTHOLE_REDIS: redis.url, PORTHOLE_WORKERS: '1', ...env } }),
    async close() {
      await display.close();
      await redis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
