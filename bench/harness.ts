// The benchmark harness: one synthetic display, and three paths to it measured in one run:
// raw TCP (the limit), Debian's websockify (the peer), and Porthole's real data path (TLS,
// WebSocket upgrade, token verification, inventory lookup, VNC security handshake, relay). Each
// proxy runs in its own process so its CPU time can be read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { loadOrCreateSigningKey } from '../gateway/signing-keys.js';
import { TokenIssuer } from '../gateway/token-issuer.js';
import { freePort } from '../test/bed/ports.js';
import { startDisplayServer, type DisplayServer } from './display-server.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export type ProxyPath = 'porthole' | 'websockify';

export interface Transfer {
  megabytesPerSecond: number;
  /** CPU-seconds the proxy process (and its children) spent per GB relayed. */
  cpuSecondsPerGB: number;
}

export interface Harness {
  rawTcpThroughput(megabytes: number): Promise<number>;
  throughput(path: ProxyPath, megabytes: number): Promise<Transfer>;
  setupRate(path: ProxyPath, sessions: number): Promise<number>;
  close(): Promise<void>;
}

const ORIGIN = 'https://localhost';
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const principal = { username: 'bench', roles: ['user'], groups: [] };
const DESKTOP = 'bench/00000000-0000-4000-8000-000000000000';

/** utime + stime + cutime + cstime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
}

function rate(bytes: number, started: bigint): number {
  return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function listening(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
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

export async function startHarness(): Promise<Harness> {
  if (spawnSync('websockify', ['--help']).error) throw new Error('websockify not found: apt-get install websockify');
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-'));
  const display: DisplayServer = await startDisplayServer();
  const key = loadOrCreateSigningKey(dir);
  const publicKey = join(dir, 'public.pem'); // all the proxy gets
  writeFileSync(publicKey, key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const issuer = new TokenIssuer(key, 60, true);
  const tls = await ensureSelfSignedCertificate('localhost', join(dir, 'certs'));
  const ca = readFileSync(tls.cert);
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map(stop));
    await display.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const script = fileURLToPath(new URL('./proxy-process.js', import.meta.url));
    const porthole = spawn(process.execPath, [script, tls.cert, tls.key, publicKey, key.kid, String(display.port), ORIGIN],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(porthole);
    const portholePort = await new Promise<number>((resolve, reject) => {
      porthole.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      porthole.once('exit', (code) => reject(new Error(`Porthole's proxy process exited with ${code}`)));
    });
    const websockifyPort = await freePort();
    const websockify = spawn('websockify', ['--cert', tls.cert, '--key', tls.key, `127.0.0.1:${websockifyPort}`, `127.0.0.1:${display.port}`],
      { stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(websockify);
    await listening(websockifyPort, websockify, 'websockify');

    const pids: Record<ProxyPath, number> = { porthole: porthole.pid!, websockify: websockify.pid! };
    const url = (path: ProxyPath) => {
      if (path === 'websockify') return `wss://127.0.0.1:${websockifyPort}/`;
      const { token } = issuer.issue(principal, DESKTOP, 'vnc', { viewOnly: false, clientIp: '127.0.0.1' });
      return `wss://127.0.0.1:${portholePort}/ws/vnc?token=${encodeURIComponent(token)}`;
    };

    /** Opens a session and completes the RFB handshake as noVNC would; onData then gets the stream. */
    const openSession = (path: ProxyPath, onData: (chunk: Buffer) => boolean): Promise<WebSocket> => new Promise((resolve, reject) => {
      const ws = new WebSocket(url(path), path === 'websockify' ? ['binary'] : [], { origin: ORIGIN, ca, perMessageDeflate: false });
      let got = 0;
      let stage = 0;
      ws.on('message', (data: Buffer) => {
        if (stage === 3) { if (onData(data)) ws.close(); return; }
        got += data.length;
        if (stage === 0 && got >= 12) { ws.send(Buffer.from('RFB 003.008\n')); stage = 1; got -= 12; }
        if (stage === 1 && got >= 2) { ws.send(Buffer.from([1])); stage = 2; got -= 2; }
        if (stage === 2 && got >= 4) { ws.send(Buffer.from([1])); stage = 3; got -= 4; resolve(ws); }
      });
      ws.on('error', reject);
      ws.on('close', (code, reason) => { if (stage < 3) reject(new Error(`${path}: closed ${code} ${reason.toString()}`)); });
    });

    return {
      async rawTcpThroughput(megabytes) {
        const target = megabytes * 1e6;
        return new Promise((resolve, reject) => {
          const socket = connect(display.port, '127.0.0.1');
          let stage = 0;
          let got = 0;
          let started = 0n;
          socket.on('data', (chunk: Buffer) => {
            if (stage === 0) { socket.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])])); stage = 1; started = process.hrtime.bigint(); return; }
            got += chunk.length;
            if (got >= target) { socket.destroy(); resolve(rate(got, started)); }
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
        const finished = new Promise<number>((r) => { done = r; });
        const ws = await openSession(path, (chunk) => {
          if (started === 0n) { started = process.hrtime.bigint(); cpuBefore = cpuSeconds(pids[path]); }
          got += chunk.length;
          if (got >= target) { done(got); return true; }
          return false;
        });
        const bytes = await finished;
        const megabytesPerSecond = rate(bytes, started);
        await new Promise((r) => ws.once('close', r));
        await new Promise((r) => setTimeout(r, 300)); // websockify's per-connection child is reaped
        return { megabytesPerSecond, cpuSecondsPerGB: (cpuSeconds(pids[path]) - cpuBefore) / (bytes / 1e9) };
      },
      async setupRate(path, sessions) {
        const started = process.hrtime.bigint();
        for (let i = 0; i < sessions; i++) {
          const ws = await openSession(path, () => true);
          ws.close();
          await new Promise((r) => ws.once('close', r));
        }
        return sessions / (Number(process.hrtime.bigint() - started) / 1e9);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
