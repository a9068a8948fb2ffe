// A real load balancer for tests: Debian's haproxy in TCP mode (TLS passes through to the nodes),
// on a loopback port, round robin over the nodes, each connection preceded by the PROXY protocol
// (v1) line that names the client. Run in the foreground (-db) as the test's process, stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitForPort } from './redis.js';

export interface HaProxy {
  port: number;
  close(): Promise<void>;
}

/** @param port where it listens (known before the nodes start: their allowed origin names it); a free one by default */
export async function startHaProxy(nodePorts: number[], port?: number): Promise<HaProxy> {
  if (spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0) {
    throw new Error("haproxy is not installed: the load-balancer tests need Debian's haproxy package (apt-get install haproxy)");
  }
  const dir = mkdtempSync(join(tmpdir(), 'porthole-haproxy-'));
  port ??= await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 120s',
      '  timeout server 120s',
      'frontend porthole',
      `  bind 127.0.0.1:${port}`,
      '  default_backend nodes',
      'backend nodes',
      '  balance roundrobin',
      ...nodePorts.map((p, i) => `  server node${i} 127.0.0.1:${p} send-proxy`),
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn('haproxy', ['-f', config, '-db'], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
