// The cluster's figures (issue 14): session setups per second through `porthole serve` with one
// worker embedded, one worker on Redis and two workers on Redis, with what Redis adds per setup
// (time, Redis commands, Redis CPU); then idle sessions held by three processes on one Redis,
// in KB per session in the processes and in Redis. A setup is what a browser's "Open" costs
// once signed in: the connect call (a token), the WebSocket, the claim (single use, the live
// session registered) and the display's handshake, then the close. The configurations take
// turns over the rounds, so that the machine's other load hits each alike.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserStore } from '../gateway/users.js';
import type { GatewayClient } from '../test/bed/gateway-client.js';
import { vncHandshake, WireReader } from '../test/bed/protocol-clients.js';
import { startRedis, type RedisServer } from '../test/bed/redis.js';
import { writeTestDriver } from '../test/bed/test-driver.js';
import { startBenchNode, type BenchNode } from './cluster-nodes.js';
import { pssKilobytes, treeCpuSeconds, type BenchResult } from './harness.js';

const DESKTOP = 'c1a57e00-0000-4000-8000-000000000001';
const USER = { name: 'bench', password: 'bench-cluster-password-1' };

type Setup = 'embedded, 1 worker' | 'Redis, 1 worker' | 'Redis, 2 workers';
const SETUPS: readonly Setup[] = ['embedded, 1 worker', 'Redis, 1 worker', 'Redis, 2 workers'];

/** A display in a process of its own: its CPU is not the nodes' nor the load generator's. */
async function displayProcess(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./display-process.js', import.meta.url)), 'echo'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await createInterface({ input: child.stdout! })
    [Symbol.asyncIterator]()
    .next()
    .then((r) => [r.value as string]);
  return { port: (JSON.parse(line!) as { port: number }).port, stop: () => child.kill('SIGTERM') };
}

/** One session opened through `client` up to the display's ServerInit. */
async function openSession(client: GatewayClient, cookie: string): Promise<WireReader> {
  const [attempt] = await client.connect(cookie, DESKTOP, { protocols: ['vnc'] });
  const reader = new WireReader(client.webSocket(attempt!.url, { cookie }));
  await vncHandshake(reader);
  return reader;
}

async function closeSession(reader: WireReader): Promise<void> {
  reader.ws.close();
  await reader.closed;
}

/** Redis's own CPU seconds and commands served so far (INFO). */
function redisCounters(redis: RedisServer): { cpu: number; commands: number; memory: number; keys: number } {
  const info = redis.cli('INFO', 'all');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  let commands = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) commands += Number(m[1]);
  return { cpu: field('used_cpu_user') + field('used_cpu_sys'), commands, memory: field('used_memory'), keys: Number(redis.cli('DBSIZE')) };
}

interface Round {
  perSecond: number;
  cpuMsPerSetup: number;
  redisCommandsPerSetup: number;
  redisCpuMsPerSetup: number;
}

async function measureSetups(node: BenchNode, redis: RedisServer | undefined, setups: number, concurrency: number): Promise<Round> {
  const cookie = await node.client.signIn(USER.name, USER.password);
  for (let i = 0; i < concurrency; i++) await closeSession(await openSession(node.client, cookie)); // warm: JIT, TLS, pools
  const cpuBefore = treeCpuSeconds(node.pid);
  const redisBefore = redis ? redisCounters(redis) : undefined;
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < setups) {
      next++;
      await closeSession(await openSession(node.client, cookie));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const redisAfter = redis ? redisCounters(redis) : undefined;
  return {
    perSecond: setups / seconds,
    cpuMsPerSetup: ((treeCpuSeconds(node.pid) - cpuBefore) * 1000) / setups,
    redisCommandsPerSetup: redisBefore && redisAfter ? (redisAfter.commands - redisBefore.commands) / setups : 0,
    redisCpuMsPerSetup: redisBefore && redisAfter ? ((redisAfter.cpu - redisBefore.cpu) * 1000) / setups : 0,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function clusterBench(
  options: { smoke?: boolean; setups?: number; rounds?: number; idleSessions?: number; idleOnly?: boolean } = {},
): Promise<BenchResult[]> {
  const smoke = options.smoke ?? false;
  const setups = options.setups ?? (smoke ? 10 : 300);
  const rounds = options.rounds ?? (smoke ? 1 : 3);
  const idleSessions = options.idleSessions ?? (smoke ? 30 : 10_000);
  const concurrency = smoke ? 3 : 8;
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-cluster-'));
  const display = await displayProcess();
  const redis = await startRedis();
  const results: BenchResult[] = [];
  try {
    const libvirt = `lab=${writeTestDriver(join(dir, 'node.xml'), [
      { name: 'bench', uuid: DESKTOP, users: [USER.name], vnc: { port: display.port, password: '' } },
    ])}`;
    const data = join(dir, 'data');
    await new UserStore(data).upsert(USER.name, USER.password, 'user', []);

    const measured = new Map<Setup, Round[]>();
    for (let round = 0; round < (options.idleOnly ? 0 : rounds); round++) {
      for (let i = 0; i < SETUPS.length; i++) {
        const setup = SETUPS[(i + round) % SETUPS.length]!;
        const shared = setup !== 'embedded, 1 worker';
        const node = await startBenchNode({
          data,
          libvirt,
          ...(shared ? { redis: redis.url } : {}),
          workers: setup === 'Redis, 2 workers' ? 2 : 1,
        });
        try {
          const r = await measureSetups(node, shared ? redis : undefined, setups, concurrency);
          console.log(`cluster, ${setup}: ${r.perSecond.toFixed(1)} setups/s, ${r.cpuMsPerSetup.toFixed(2)} CPU-ms each`);
          (measured.get(setup) ?? measured.set(setup, []).get(setup)!).push(r);
        } finally {
          await node.close();
        }
      }
    }
    const m = (setup: Setup, figure: keyof Round) => median(measured.get(setup)!.map((r) => r[figure]));
    if (!options.idleOnly) setupFigures();
    function setupFigures() {
      for (const setup of SETUPS) {
        results.push(
          { name: `cluster: setups (${concurrency} at a time), ${setup}`, value: m(setup, 'perSecond'), unit: 'sessions/s' },
          { name: `cluster: node CPU per setup, ${setup}`, value: m(setup, 'cpuMsPerSetup'), unit: 'ms' },
        );
      }
      const embedded = m('embedded, 1 worker', 'perSecond');
      const onRedis = m('Redis, 1 worker', 'perSecond');
      results.push(
        { name: 'cluster: Redis / embedded setups, 1 worker', value: onRedis / embedded, unit: 'ratio' },
        { name: 'cluster: 2 workers / 1 worker setups, on Redis', value: m('Redis, 2 workers', 'perSecond') / onRedis, unit: 'ratio' },
        { name: 'cluster: time Redis adds per setup, 1 worker', value: 1000 / onRedis - 1000 / embedded, unit: 'ms' },
        {
          name: 'cluster: node CPU Redis adds per setup, 1 worker',
          value: m('Redis, 1 worker', 'cpuMsPerSetup') - m('embedded, 1 worker', 'cpuMsPerSetup'),
          unit: 'ms',
        },
        { name: 'cluster: Redis commands per setup', value: m('Redis, 1 worker', 'redisCommandsPerSetup'), unit: '' },
        { name: 'cluster: Redis CPU per setup', value: m('Redis, 1 worker', 'redisCpuMsPerSetup'), unit: 'ms' },
        {
          name: 'cluster: setups/s one Redis core carries (1000 / its CPU-ms per setup)',
          value: 1000 / Math.max(m('Redis, 1 worker', 'redisCpuMsPerSetup'), 1e-6),
          unit: 'sessions/s',
        },
      );
    }
    // Idle sessions over three nodes (one process each) on the one Redis, opened in turn.
    const nodes: BenchNode[] = [];
    const readers: WireReader[] = [];
    try {
      for (let i = 0; i < 3; i++) nodes.push(await startBenchNode({ data, libvirt, redis: redis.url, workers: 1 }));
      const cookies = await Promise.all(nodes.map((n) => n.client.signIn(USER.name, USER.password)));
      await new Promise((r) => setTimeout(r, 1000));
      const pssBefore = nodes.map((n) => pssKilobytes(n.pid));
      const redisBefore = redisCounters(redis);
      let next = 0;
      const worker = async () => {
        while (next < idleSessions) {
          const i = next++ % nodes.length;
          readers.push(await openSession(nodes[i]!.client, cookies[i]!));
          if (readers.length % 1000 === 0) console.log(`cluster: ${readers.length} idle sessions held`);
        }
      };
      const started = process.hrtime.bigint();
      await Promise.all(Array.from({ length: concurrency }, worker)).catch((error: Error) => {
        throw new Error(`after ${readers.length} idle sessions: ${error.message}`, { cause: error });
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await new Promise((r) => setTimeout(r, 3000)); // let the processes settle (GC, lazy buffers)
      const pssAfter = nodes.map((n) => pssKilobytes(n.pid));
      const redisAfter = redisCounters(redis);
      const processKb = pssAfter.reduce((s, v, i) => s + v - pssBefore[i]!, 0) / idleSessions;
      console.log(`cluster: ${idleSessions} idle sessions over 3 nodes opened in ${seconds.toFixed(0)} s`);
      results.push(
        { name: `cluster: KB per idle session in the 3 processes (${idleSessions})`, value: processKb, unit: 'KB/session' },
        {
          name: `cluster: KB per idle session in Redis (${idleSessions})`,
          value: (redisAfter.memory - redisBefore.memory) / 1024 / idleSessions,
          unit: 'KB/session',
        },
        {
          name: `cluster: Redis keys per idle session (${idleSessions})`,
          value: (redisAfter.keys - redisBefore.keys) / idleSessions,
          unit: '',
        },
        { name: `cluster: sessions opened per second over 3 nodes, while holding them`, value: idleSessions / seconds, unit: 'sessions/s' },
      );
    } finally {
      for (const r of readers) r.ws.terminate();
      for (const n of nodes) await n.close();
    }
  } finally {
    await redis.close();
    display.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
