// Real Redis for tests: Debian's redis-server (and redis-sentinel), run as the test's own
// processes on loopback ports with their own config and directory, stopped by PID. A server may
// have a password, a TLS port (certificate from a CA made for the test), be a replica of another;
// tests stop, restart and pause (SIGSTOP) them to make Redis unreachable or slow.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority, issueHostCertificate, type KeyAndCertificate } from '../../certs/authority.js';
import { freePort } from './ports.js';
import { recordSecret } from './secret-record.js';

export interface RedisServer {
  port: number;
  /** redis://[:password@]127.0.0.1:PORT */
  url: string;
  /** With `tls`: the TLS port, its URL (rediss://), and the CA file that verifies it. */
  tls?: { port: number; url: string; caFile: string };
  password?: string;
  /** Stops the process (SIGTERM, waited for). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data directory. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Runs redis-cli against it, returning its output. */
  cli(...args: string[]): string;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

function requireBinary(name: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    throw new Error(
      `${name} is not installed: the Redis tests need Debian's redis-server and redis-sentinel packages (apt-get install redis-server redis-sentinel)`,
    );
  }
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

export async function startRedis(
  options: { password?: string; tls?: boolean; replicaOf?: RedisServer; authority?: KeyAndCertificate } = {},
): Promise<RedisServer> {
  requireBinary('redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'porthole-redis-'));
  const port = await freePort();
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    'save ""',
    // Kept on disk, so that "Redis stopped and started again" keeps sign-ins, as a deployment's would.
    'appendonly yes',
    'protected-mode no',
    'daemonize no',
    `logfile ${join(dir, 'redis.log')}`,
  ];
  if (options.password) {
    recordSecret('Redis password', options.password);
    lines.push(`requirepass ${options.password}`, `masterauth ${options.password}`);
  }
  if (options.replicaOf) lines.push(`replicaof 127.0.0.1 ${options.replicaOf.port}`);
  let tls: RedisServer['tls'];
  if (options.tls) {
    const authority = options.authority ?? (await createAuthority('Porthole test Redis CA'));
    const server = await issueHostCertificate(authority, ['localhost', '127.0.0.1']);
    const tlsPort = await freePort();
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, authority.cert);
    writeFileSync(join(dir, 'server.pem'), server.cert);
    writeFileSync(join(dir, 'server-key.pem'), server.key, { mode: 0o600 });
    lines.push(
      `tls-port ${tlsPort}`,
      `tls-cert-file ${join(dir, 'server.pem')}`,
      `tls-key-file ${join(dir, 'server-key.pem')}`,
      `tls-ca-cert-file ${caFile}`,
      'tls-auth-clients no',
    );
    tls = { port: tlsPort, url: `rediss://${options.password ? `:${options.password}@` : ''}127.0.0.1:${tlsPort}`, caFile };
  }
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });

  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', [conf], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const stop = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill('SIGCONT');
    c.kill('SIGTERM');
    await exited(c);
  };
  await start();
  const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  return {
    port,
    url: `redis://${options.password ? `:${options.password}@` : ''}127.0.0.1:${port}`,
    ...(tls ? { tls } : {}),
    ...(options.password ? { password: options.password } : {}),
    start,
    stop,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    cli: (...args) => spawnSync('redis-cli', ['-p', String(port), ...auth, ...args], { encoding: 'utf8' }).stdout.trim(),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Sentinels {
  ports: number[];
  /** redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/MASTER */
  url: string;
  close(): Promise<void>;
}

/** Three sentinels watching `primary` as master `name`, quick to fail over (1 s down, quorum 2). */
export async function startSentinels(primary: RedisServer, name = 'porthole'): Promise<Sentinels> {
  requireBinary('redis-sentinel');
  const dir = mkdtempSync(join(tmpdir(), 'porthole-sentinel-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  for (const [i, port] of ports.entries()) {
    const conf = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'protected-mode no',
        `logfile ${join(dir, `sentinel-${i}.log`)}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(primary.password ? [`sentinel auth-pass ${name} ${primary.password}`] : []),
      ].join('\n') + '\n',
    );
    children.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
  }
  for (const port of ports) await waitForPort(port);
  return {
    ports,
    url: `redis-sentinel://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map(exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
