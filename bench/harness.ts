// The benchmark harness: synthetic displays, and the paths to them measured in one run: raw TCP
// (the limit), socat's TLS-to-TCP relay (C and OpenSSL: the floor), a bare TLS relay in Node
// (Node's own floor), Debian's websockify (the peer), Porthole as `npm start` runs it (the
// whole gateway with its defaults, a desktop inventory through libvirt's test driver, a token
// got through the HTTP API as the web client gets it: sign in, connect) and, as a diagnostic,
// Porthole's data path alone in a stripped process. Each runs in its own process so its CPU
// time can be read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { loadOrCreateSigningKey } from '../gateway/signing-keys.js';
import { TokenIssuer } from '../gateway/token-issuer.js';
import { UserStore } from '../gateway/users.js';
import { gatewayClient } from '../test/bed/gateway-client.js';
import { freePort } from '../test/bed/ports.js';
import { writeTestDriver } from '../test/bed/test-driver.js';
import { MIB, startDisplayServer, type DisplayMode, type DisplayServer } from './display-server.js';
import { percentile } from './percentile.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** `porthole`: the full product (`npm start`); `stripped`: its data path alone (a diagnostic). */
export type ProxyPath = 'porthole' | 'stripped' | 'websockify';
/** TLS-to-TCP relays without WebSocket: socat's (C, OpenSSL) and Node's. */
export type FloorPath = 'socat' | 'node-tls';

export interface Capacity {
  desktops: number;
  /** Key echo on one more session while `desktops` stream at 20 Mbit/s each. */
  p50Ms: number;
  p99Ms: number;
  /** CPU the proxy (and its children) used meanwhile, in cores. */
  cores: number;
  /** CPU the load generator (displays and browsers, in processes of their own) used, in cores. */
  generatorCores: number;
}

export interface Transfer {
  megabytesPerSecond: number;
  /** CPU-seconds the proxy process (and its children) spent per GB relayed. */
  cpuSecondsPerGB: number;
}

export interface SetupRate {
  perSecond: number;
  /** CPU time the proxy process (and its children) spent per session set up. */
  cpuMsPerSetup: number;
  /** The share of TLS handshakes that resumed an earlier session (0 unless asked to resume). */
  resumed: number;
}

/** The last session ticket a client got, offered on its next connection, and how often that worked. */
interface TlsTicket {
  session?: Buffer;
  handshakes: number;
  resumed: number;
}

export interface Latency {
  p50Ms: number;
  p99Ms: number;
  /** CPU time the proxy process (and its children) spent per round trip (two messages relayed); 0 for raw TCP. */
  cpuUsPerRoundTrip: number;
}

export interface IdleMemory {
  sessions: number;
  /** Proportional set size the proxy (and its children) gained per idle session. */
  kilobytesPerSession: number;
}

export interface Harness {
  rawTcpThroughput(megabytes: number): Promise<number>;
  throughput(path: ProxyPath, megabytes: number): Promise<Transfer>;
  /** A bare TLS relay's display-direction throughput and CPU per GB. */
  floorThroughput(path: FloorPath, megabytes: number): Promise<Transfer>;
  /** Browser-to-display throughput (MB/s), raw TCP or through a proxy. */
  inputThroughput(path: ProxyPath | 'raw', megabytes: number): Promise<number>;
  /** Round trips of a small message through the echo display. */
  echoLatency(path: ProxyPath | 'raw' | FloorPath, samples: number): Promise<Latency>;
  /**
   * `desktops` sessions streaming 20 Mbit/s each (paced displays and reading browsers in
   * processes of their own), and key echoes timed on one more session meanwhile.
   */
  capacity(path: 'porthole' | 'websockify', desktops: number, samples: number): Promise<Capacity>;
  /**
   * Sessions opened and closed, `concurrency` at a time; with `resume`, each TLS handshake offers
   * the session ticket of an earlier one, as a browser does for the connections of one desktop.
   */
  setupRate(path: ProxyPath | 'node-tls', sessions: number, concurrency: number, resume?: boolean): Promise<SetupRate>;
  /** Memory per idle session, with `sessions` held open by a separate client process. */
  idleMemory(path: ProxyPath, sessions: number): Promise<IdleMemory>;
  close(): Promise<void>;
}

const ORIGIN = 'https://localhost';
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const principal = { username: 'bench', roles: ['user'], groups: [] };
/** The displays in the harness's process; the paced one (the capacity test's load) runs in its own. */
const MODES: readonly DisplayMode[] = ['stream', 'echo', 'sink'];
const ALL_MODES: readonly DisplayMode[] = [...MODES, 'paced'];
/** The desktops the full product's inventory lists, one per display. */
const DESKTOP_IDS: Record<DisplayMode, string> = {
  stream: '0be4c400-0000-4000-8000-000000000001',
  echo: '0be4c400-0000-4000-8000-000000000002',
  sink: '0be4c400-0000-4000-8000-000000000003',
  paced: '0be4c400-0000-4000-8000-000000000004',
};
const BENCH_PASSWORD = 'bench-password-for-loopback-only';
const PING = Buffer.alloc(64, 0x2a);
const SERVER_INIT = 24 + 'bench'.length;
/**
 * The cipher suites in the order Chromium and Firefox offer them (AES-128-GCM first), so every
 * path encrypts as it would for a browser; Node's own client would pick AES-256-GCM.
 */
export const BROWSER_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** Proportional set size of a process and all its descendants, in kB (websockify forks per connection). */
export function pssKilobytes(pid: number): number {
  let total = 0;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += pssKilobytes(Number(child));
    }
  } catch {
    // the process ended meanwhile
  }
  return total;
}

/** utime + stime + cutime + cstime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
}

/** CPU seconds of a process, its reaped children and its live descendants (websockify's per-connection children). */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  try {
    total += cpuSeconds(pid);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += treeCpuSeconds(Number(child));
    }
  } catch {
    // the process ended meanwhile
  }
  return total;
}

function rate(bytes: number, started: bigint): number {
  return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function listening(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Debian's websockify (the peer) and socat (the floor), which must be there: a missing one is
 * named with its Debian package, never installed behind the caller's back (scripts/setup.sh
 * installs them with the other packages of .ci/packages.txt).
 */
function ensureTools(): void {
  for (const [tool, args] of [
    ['websockify', ['--help']],
    ['socat', ['-V']],
  ] as const) {
    if (!spawnSync(tool, args).error) continue;
    throw new Error(
      `${tool} not found: apt-get install ${tool} (Debian package ${tool}; scripts/setup.sh installs it with .ci/packages.txt)`,
    );
  }
}

/**
 * A child that prints its port as a JSON line; any other line it prints (Node's `--trace-gc`)
 * goes to `log` when given, and is dropped otherwise.
 */
async function portOf(child: ChildProcess, name: string, log?: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"port":')) return resolve((JSON.parse(line) as { port: number }).port);
      if (log) appendFileSync(log, `${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/** Where a session of a path is opened: its URL, the page's origin, and the cookie a browser sends along. */
interface Target {
  url: string;
  origin: string;
  cookie?: string;
}

export async function startHarness(): Promise<Harness> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-'));
  const displays = {} as Record<DisplayMode, DisplayServer>;
  for (const mode of MODES) displays[mode] = await startDisplayServer(mode);
  const display = displays.stream;
  const key = loadOrCreateSigningKey(dir);
  const publicKey = join(dir, 'public.pem'); // all the proxy gets
  writeFileSync(publicKey, key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const issuer = new TokenIssuer(key, 60, true);
  const tls = await ensureSelfSignedCertificate('localhost', join(dir, 'certs'));
  const ca = readFileSync(tls.cert);
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map(stop));
    for (const d of Object.values(displays)) await d.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const node = (script: string, args: string[], profile: string[] = []) => {
    const child = spawn(process.execPath, [...profile, fileURLToPath(new URL(script, import.meta.url)), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  };

  try {
    // The capacity test's paced display, in a process of its own (it is load, not the proxy).
    const paced = node('./display-process.js', ['paced']);
    displays.paced = { port: await portOf(paced, 'the paced display'), close: async () => {} };
    const generatorPids = [paced.pid!];

    // PORTHOLE_BENCH_PROFILE=DIR: the full product writes a V8 CPU profile there when it ends.
    const profile = process.env.PORTHOLE_BENCH_PROFILE
      ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${process.env.PORTHOLE_BENCH_PROFILE}`]
      : [];
    // PORTHOLE_BENCH_TRACE_GC=DIR: the product and the stripped proxy log each collection
    // (`--trace-gc`) to DIR/porthole.log and DIR/stripped.log, to count them against the bytes.
    const traceDir = process.env.PORTHOLE_BENCH_TRACE_GC;
    // PORTHOLE_BENCH_NODE_FLAGS: more flags for both (V8's, to measure what one changes).
    const extraFlags = process.env.PORTHOLE_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
    const traceGc = [...(traceDir ? ['--trace-gc'] : []), ...extraFlags];
    const stripped = node(
      './proxy-process.js',
      [tls.cert, tls.key, publicKey, key.kid, ORIGIN, ...ALL_MODES.map((m) => `${m}=${displays[m].port}`)],
      traceGc,
    );
    const strippedPort = await portOf(stripped, "Porthole's stripped proxy", traceDir && join(traceDir, 'stripped.log'));

    // The full product, started as `npm start` starts it: `porthole serve`, its defaults, a
    // configuration in the environment, an inventory through libvirt's test driver.
    const productDir = join(dir, 'product');
    const productPort = await freePort();
    const productOrigin = `https://localhost:${productPort}`;
    const libvirt = writeTestDriver(
      join(dir, 'node.xml'),
      ALL_MODES.map((mode) => ({
        name: `bench-${mode}`,
        uuid: DESKTOP_IDS[mode],
        users: ['bench'],
        vnc: { port: displays[mode].port, password: '' },
      })),
    );
    await new UserStore(productDir).upsert('bench', BENCH_PASSWORD, 'user', []);
    const product = spawn(
      process.execPath,
      [...profile, ...traceGc, fileURLToPath(new URL('../../bin/porthole.js', import.meta.url)), 'serve'],
      {
        // Its stdout is its log (and what `--trace-gc` prints).
        stdio: ['ignore', traceDir ? openSync(join(traceDir, 'porthole.log'), 'a') : 'ignore', 'inherit'],
        env: {
          ...process.env,
          PORTHOLE_LISTEN: `127.0.0.1:${productPort}`,
          PORTHOLE_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
          PORTHOLE_PUBLIC_URL: productOrigin,
          PORTHOLE_LIBVIRT: `bench=${libvirt}`,
          PORTHOLE_DATA: productDir,
          PORTHOLE_TLS_CERT: tls.cert,
          PORTHOLE_TLS_KEY: tls.key,
        },
      },
    );
    children.push(product);
    await listening(productPort, product, 'porthole serve');
    const api = gatewayClient({ address: '127.0.0.1', port: productPort, origin: productOrigin, ca });
    const cookie = await api.signIn('bench', BENCH_PASSWORD);

    // websockify serves one target per instance: one instance per synthetic display.
    const websockifyPorts = {} as Record<DisplayMode, number>;
    const websockifyPids = {} as Record<DisplayMode, number>;
    for (const mode of ALL_MODES) {
      websockifyPorts[mode] = await freePort();
      const websockify = spawn(
        'websockify',
        ['--cert', tls.cert, '--key', tls.key, `127.0.0.1:${websockifyPorts[mode]}`, `127.0.0.1:${displays[mode].port}`],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      children.push(websockify);
      websockifyPids[mode] = websockify.pid!;
      await listening(websockifyPorts[mode], websockify, 'websockify');
    }

    // The bare TLS relays, one of each per display it is measured on: socat forks a child per
    // connection (counted with it), Node's relays in one process.
    const floorPorts = {} as Record<FloorPath, Record<'stream' | 'echo', number>>;
    const floorPids = {} as Record<FloorPath, Record<'stream' | 'echo', number>>;
    floorPorts.socat = {} as Record<'stream' | 'echo', number>;
    floorPids.socat = {} as Record<'stream' | 'echo', number>;
    floorPorts['node-tls'] = {} as Record<'stream' | 'echo', number>;
    floorPids['node-tls'] = {} as Record<'stream' | 'echo', number>;
    for (const mode of ['stream', 'echo'] as const) {
      const relay = node('./tls-relay-process.js', [tls.cert, tls.key, String(displays[mode].port)]);
      floorPids['node-tls'][mode] = relay.pid!;
      floorPorts['node-tls'][mode] = await portOf(relay, 'the TLS relay');
      const port = await freePort();
      const socat = spawn(
        'socat',
        [
          `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${tls.cert},key=${tls.key},verify=0`,
          `TCP:127.0.0.1:${displays[mode].port},nodelay`,
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] }, // it logs every client that hangs up mid-handshake
      );
      children.push(socat);
      floorPids.socat[mode] = socat.pid!;
      floorPorts.socat[mode] = port;
      await listening(port, socat, 'socat');
    }

    const pids: Record<ProxyPath, number> = { porthole: product.pid!, stripped: stripped.pid!, websockify: websockifyPids.stream };
    const proxyPid = (path: ProxyPath, mode: DisplayMode) => (path === 'websockify' ? websockifyPids[mode] : pids[path]);
    const where = async (path: ProxyPath, mode: DisplayMode = 'stream'): Promise<Target> => {
      if (path === 'websockify') return { url: `wss://127.0.0.1:${websockifyPorts[mode]}/`, origin: ORIGIN };
      if (path === 'stripped') {
        const { token } = issuer.issue(principal, `bench/${mode}`, 'vnc', { viewOnly: false, clientIp: '127.0.0.1' });
        return { url: `wss://127.0.0.1:${strippedPort}/ws/vnc?token=${encodeURIComponent(token)}`, origin: ORIGIN };
      }
      // As the web client does: ask the HTTP API to connect, open the attempt's URL with the sign-in cookie.
      const [attempt] = await api.connect(cookie, DESKTOP_IDS[mode], { protocols: ['vnc'] });
      const url = new URL(attempt!.url);
      url.hostname = '127.0.0.1';
      return { url: url.href, origin: productOrigin, cookie };
    };

    /** TLS connections as a browser makes them, offering, and keeping, a session ticket when `ticket` is given. */
    const resumingConnect =
      (ticket: TlsTicket | undefined) =>
      (options: ConnectionOptions): TLSSocket => {
        const socket = tlsConnect({
          ...options,
          servername: '',
          ciphers: BROWSER_CIPHERS,
          ...(ticket?.session ? { session: ticket.session } : {}),
        });
        if (ticket) {
          socket.on('session', (session: Buffer) => {
            ticket.session = session;
          });
          socket.once('secureConnect', () => {
            ticket.handshakes++;
            if (socket.isSessionReused()) ticket.resumed++;
          });
        }
        return socket;
      };

    /** Opens a session and completes the RFB handshake as noVNC would; onData then gets the stream. */
    const openSession = (
      path: ProxyPath,
      onData: (chunk: Buffer) => boolean,
      mode: DisplayMode = 'stream',
      ticket?: TlsTicket,
    ): Promise<WebSocket> =>
      where(path, mode).then(
        (at) =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(at.url, path === 'websockify' ? ['binary'] : [], {
              origin: at.origin,
              ca,
              perMessageDeflate: false,
              createConnection: resumingConnect(ticket) as never,
              ...(at.cookie ? { headers: { cookie: at.cookie } } : {}),
            });
            let got = 0;
            let stage = 0;
            ws.on('message', (data: Buffer) => {
              if (stage === 4) {
                if (onData(data)) ws.close();
                return;
              }
              got += data.length;
              if (stage === 0 && got >= 12) {
                ws.send(Buffer.from('RFB 003.008\n'));
                stage = 1;
                got -= 12;
              }
              if (stage === 1 && got >= 2) {
                ws.send(Buffer.from([1]));
                stage = 2;
                got -= 2;
              }
              if (stage === 2 && got >= 4) {
                ws.send(Buffer.from([1]));
                stage = 3;
                got -= 4;
              }
              // The ServerInit (24 bytes and the name "bench") is the last handshake message; what
              // follows it in the same message, if anything, is the display's stream.
              if (stage === 3 && got >= SERVER_INIT) {
                stage = 4;
                resolve(ws);
                if (got > SERVER_INIT && onData(data.subarray(data.length - (got - SERVER_INIT)))) ws.close();
              }
            });
            ws.on('error', reject);
            ws.on('close', (code, reason) => {
              if (stage < 4) reject(new Error(`${path}: closed ${code} ${reason.toString()}`));
            });
          }),
      );

    /** A raw TCP session to a synthetic display (or through the bare TLS relay), past its handshake. */
    const rawSession = (
      mode: DisplayMode,
      onData: (chunk: Buffer) => void,
      via: 'tcp' | FloorPath = 'tcp',
      ticket?: TlsTicket,
    ): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket =
          via === 'tcp'
            ? connect(displays[mode].port, '127.0.0.1')
            : resumingConnect(ticket)({ host: '127.0.0.1', port: floorPorts[via][mode as 'stream' | 'echo'], ca });
        let got = 0;
        let ready = false;
        socket.on('data', (chunk: Buffer) => {
          if (ready) return onData(chunk);
          got += chunk.length;
          if (got === 12) socket.write(Buffer.from('RFB 003.008\n'));
          if (got === 14) socket.write(Buffer.from([1]));
          if (got === 18) socket.write(Buffer.from([1]));
          if (got >= 18 + SERVER_INIT) {
            ready = true;
            resolve(socket);
          }
        });
        socket.on('error', reject);
      });

    /**
     * `sessions` sessions held open by a client process of their own (bench/idle-clients.ts),
     * reading and dropping whatever their display sends; resolves when all are open.
     */
    const holdSessions = async (path: ProxyPath, mode: DisplayMode, sessions: number): Promise<ChildProcess> => {
      const first = await where(path, mode);
      const settings = JSON.stringify({
        sessions,
        protocols: path === 'websockify' ? ['binary'] : [],
        origin: first.origin,
        ca: ca.toString(),
        ciphers: BROWSER_CIPHERS,
        ...(first.cookie ? { cookie: first.cookie } : {}),
      });
      const clients = spawn(process.execPath, [fileURLToPath(new URL('./idle-clients.js', import.meta.url)), settings], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(clients);
      // Fresh URLs (and tokens) in batches, whenever the clients ask.
      let issued = 0;
      const urls = [first.url];
      try {
        await new Promise<void>((resolve, reject) => {
          createInterface({ input: clients.stdout! }).on('line', (line) => {
            if (line.startsWith('ready')) return resolve();
            if (line !== 'need') return;
            const batch = Math.min(200, sessions - issued);
            issued += batch;
            void (async () => {
              while (urls.length < batch) urls.push((await where(path, mode)).url);
              clients.stdin!.write(
                urls
                  .splice(0, batch)
                  .map((u) => `${u}\n`)
                  .join(''),
              );
            })().catch(reject);
          });
          clients.once('exit', (code) => reject(new Error(`the session clients exited with ${code}`)));
        });
      } catch (error) {
        await stop(clients);
        throw error;
      }
      return clients;
    };

    const harness: Harness = {
      async rawTcpThroughput(megabytes) {
        const target = megabytes * 1e6;
        return new Promise((resolve, reject) => {
          const socket = connect(display.port, '127.0.0.1');
          let stage = 0;
          let got = 0;
          let started = 0n;
          socket.on('data', (chunk: Buffer) => {
            if (stage === 0) {
              socket.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])]));
              stage = 1;
              started = process.hrtime.bigint();
              return;
            }
            got += chunk.length;
            if (got >= target) {
              socket.destroy();
              resolve(rate(got, started));
            }
          });
          socket.on('error', reject);
        });
      },
      async throughput(path, megabytes) {
        const target = megabytes * 1e6;
        let got = 0;
        let started = 0n;
        let cpuBefore = 0;
        let done!: (bytes: number) => void;
        const finished = new Promise<number>((r) => {
          done = r;
        });
        const ws = await openSession(path, (chunk) => {
          if (started === 0n) {
            started = process.hrtime.bigint();
            cpuBefore = treeCpuSeconds(pids[path]);
          }
          got += chunk.length;
          if (got >= target) {
            done(got);
            return true;
          }
          return false;
        });
        const bytes = await finished;
        const megabytesPerSecond = rate(bytes, started);
        await new Promise((r) => ws.once('close', r));
        await new Promise((r) => setTimeout(r, 300)); // websockify's per-connection child is reaped
        return { megabytesPerSecond, cpuSecondsPerGB: (treeCpuSeconds(pids[path]) - cpuBefore) / (bytes / 1e9) };
      },
      async floorThroughput(path, megabytes) {
        const target = megabytes * 1e6;
        let got = 0;
        let started = 0n;
        let cpuBefore = 0;
        let done!: () => void;
        const finished = new Promise<void>((r) => {
          done = r;
        });
        const socket = await rawSession(
          'stream',
          (chunk) => {
            if (started === 0n) {
              started = process.hrtime.bigint();
              cpuBefore = treeCpuSeconds(floorPids[path].stream);
            }
            got += chunk.length;
            if (got >= target) done();
          },
          path,
        );
        await finished;
        const megabytesPerSecond = rate(got, started);
        socket.destroy();
        await new Promise((r) => setTimeout(r, 300)); // socat's per-connection child is reaped
        const cpuSecondsPerGB = (treeCpuSeconds(floorPids[path].stream) - cpuBefore) / (got / 1e9);
        return { megabytesPerSecond, cpuSecondsPerGB };
      },
      async inputThroughput(path, megabytes) {
        const total = Math.ceil((megabytes * 1e6) / MIB);
        const chunk = Buffer.alloc(256 * 1024, 0x33);
        let acks = 0;
        let done!: () => void;
        const finished = new Promise<void>((r) => {
          done = r;
        });
        const onAck = (data: Buffer) => {
          acks += data.length;
          if (acks >= total) done();
        };
        let started: bigint;
        let write: (b: Buffer) => boolean;
        let closeIt: () => void;
        if (path === 'raw') {
          const socket = await rawSession('sink', onAck);
          write = (b) => socket.write(b);
          closeIt = () => socket.destroy();
          started = process.hrtime.bigint();
          const pump = () => {
            let sent = 0;
            while (sent < 16 && acks < total) {
              sent++;
              if (!write(chunk)) return socket.once('drain', pump);
            }
            if (acks < total) setImmediate(pump);
          };
          pump();
        } else {
          const ws = await openSession(
            path,
            (d) => {
              onAck(d);
              return false;
            },
            'sink',
          );
          closeIt = () => ws.close();
          started = process.hrtime.bigint();
          // Keep about 4 MiB in flight; WebSocket has no drain event, so poll its buffer.
          const pump = () => {
            while (ws.bufferedAmount < 4 * MIB && acks < total) ws.send(chunk, { binary: true });
            if (acks < total) setTimeout(pump, 1);
          };
          pump();
        }
        await finished;
        const result = rate(total * MIB, started);
        closeIt();
        await new Promise((r) => setTimeout(r, 300));
        return result;
      },
      async echoLatency(path, samples) {
        let pending: (() => void) | undefined;
        let got = 0;
        const onEcho = (data: Buffer) => {
          got += data.length;
          if (got >= PING.length) {
            got -= PING.length;
            pending?.();
          }
        };
        let send: () => void;
        let closeIt: () => void;
        if (path === 'raw' || path === 'socat' || path === 'node-tls') {
          const socket = await rawSession('echo', onEcho, path === 'raw' ? 'tcp' : path);
          socket.setNoDelay(true);
          send = () => socket.write(PING);
          closeIt = () => socket.destroy();
        } else {
          const ws = await openSession(
            path,
            (d) => {
              onEcho(d);
              return false;
            },
            'echo',
          );
          send = () => ws.send(PING, { binary: true });
          closeIt = () => ws.close();
        }
        const pid = path === 'raw' ? undefined : path === 'socat' || path === 'node-tls' ? floorPids[path].echo : proxyPid(path, 'echo');
        const times: number[] = [];
        let cpuBefore = 0;
        for (let i = 0; i < samples + 50; i++) {
          if (i === 50 && pid) cpuBefore = treeCpuSeconds(pid); // the first 50 warm up
          const t0 = process.hrtime.bigint();
          await new Promise<void>((r) => {
            pending = r;
            send();
          });
          if (i >= 50) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const cpuUsPerRoundTrip = pid ? ((treeCpuSeconds(pid) - cpuBefore) * 1e6) / samples : 0;
        closeIt();
        times.sort((a, b) => a - b);
        return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), cpuUsPerRoundTrip };
      },
      async idleMemory(path, sessions) {
        const pid = proxyPid(path, 'echo');
        await new Promise((r) => setTimeout(r, 1000));
        const before = pssKilobytes(pid);
        const clients = await holdSessions(path, 'echo', sessions);
        try {
          await new Promise((r) => setTimeout(r, 3000)); // let the proxy settle (GC, lazy buffers)
          const after = pssKilobytes(pid);
          return { sessions, kilobytesPerSession: (after - before) / sessions };
        } finally {
          await stop(clients);
          await new Promise((r) => setTimeout(r, 2000));
        }
      },
      async capacity(path, desktops, samples) {
        const pid = proxyPid(path, 'paced');
        const clients = await holdSessions(path, 'paced', desktops);
        try {
          await new Promise((r) => setTimeout(r, 1000)); // every stream under way
          const generator = () => [clients.pid!, ...generatorPids].reduce((sum, p) => sum + treeCpuSeconds(p), 0);
          const cpuBefore = treeCpuSeconds(pid);
          const generatorBefore = generator();
          const started = process.hrtime.bigint();
          const echo = await harness.echoLatency(path, samples);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          return {
            desktops,
            p50Ms: echo.p50Ms,
            p99Ms: echo.p99Ms,
            cores: (treeCpuSeconds(pid) - cpuBefore) / seconds,
            generatorCores: (generator() - generatorBefore) / seconds,
          };
        } finally {
          await stop(clients);
          await new Promise((r) => setTimeout(r, 1000));
        }
      },
      async setupRate(path, sessions, concurrency, resume = false) {
        const pid = path === 'node-tls' ? floorPids[path].echo : proxyPid(path, 'echo');
        const cpuBefore = cpuSeconds(pid);
        const started = process.hrtime.bigint();
        let next = 0;
        const ticket: TlsTicket | undefined = resume ? { handshakes: 0, resumed: 0 } : undefined;
        const worker = async () => {
          while (next < sessions) {
            next++;
            if (path === 'node-tls') {
              const socket = await rawSession('echo', () => {}, path, ticket);
              socket.end();
              await new Promise((r) => socket.once('close', r));
              continue;
            }
            const ws = await openSession(path, () => true, 'echo', ticket);
            ws.close();
            await new Promise((r) => ws.once('close', r));
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        const perSecond = sessions / (Number(process.hrtime.bigint() - started) / 1e9);
        await new Promise((r) => setTimeout(r, 500)); // websockify's children are reaped
        return {
          perSecond,
          cpuMsPerSetup: ((cpuSeconds(pid) - cpuBefore) * 1000) / sessions,
          resumed: ticket ? ticket.resumed / ticket.handshakes : 0,
        };
      },
      close,
    };
    return harness;
  } catch (error) {
    await close();
    throw error;
  }
}
