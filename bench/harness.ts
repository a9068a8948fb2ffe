// The benchmark harness: Porthole's real data path (TLS, WebSocket upgrade, token verification,
// inventory lookup, the VNC security handshake, the relay) in front of a synthetic display,
// measured against raw TCP to the same display in the same run.
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { loadOrCreateSigningKey } from '../gateway/signing-keys.js';
import { TokenIssuer } from '../gateway/token-issuer.js';
import type { Desktop } from '../inventory/desktop.js';
import { DisplayProxy } from '../proxy/display-proxy.js';
import { TokenVerifier } from '../proxy/token-verifier.js';
import { VncAdapter } from '../proxy/vnc/adapter.js';
import { startDisplayServer, type DisplayServer } from './display-server.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export interface Harness {
  rawTcpThroughput(megabytes: number): Promise<number>;
  portholeThroughput(megabytes: number): Promise<number>;
  setupRate(sessions: number): Promise<number>;
  close(): Promise<void>;
}

const ORIGIN = 'https://localhost';
const principal = { username: 'bench', roles: ['user'], groups: [] };

/** Reads `bytes` from a stream of chunks and returns MB/s (10^6 bytes per second). */
function rate(bytes: number, started: bigint): number {
  return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function startHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-'));
  const display: DisplayServer = await startDisplayServer();
  const desktop: Desktop = {
    id: 'bench/00000000-0000-4000-8000-000000000000', name: 'bench', hypervisor: 'bench', uuid: '00000000-0000-4000-8000-000000000000',
    state: 'running', users: ['bench'], groups: [], displays: [{ protocol: 'vnc', host: '127.0.0.1', port: display.port }],
  };
  const key = loadOrCreateSigningKey(dir);
  const issuer = new TokenIssuer(key, 60, true);
  const proxy = new DisplayProxy({
    verifier: new TokenVerifier([[key.kid, key.publicKey]]),
    targets: { get: async (id) => (id === desktop.id ? desktop : undefined) },
    origins: new Set([ORIGIN]),
    adapters: [new VncAdapter()],
    log: pino({ level: 'silent' }),
  });
  const tls = await ensureSelfSignedCertificate('localhost', join(dir, 'certs'));
  const server: Server = createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  server.on('upgrade', (req, socket, head) => proxy.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const ca = readFileSync(tls.cert);

  /** Opens a session through Porthole and completes the RFB handshake as noVNC would. */
  const openSession = (onData?: (chunk: Buffer) => boolean): Promise<WebSocket> => new Promise((resolve, reject) => {
    const { token } = issuer.issue(principal, desktop.id, 'vnc', { viewOnly: false, clientIp: '127.0.0.1' });
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws/vnc?token=${encodeURIComponent(token)}`, { origin: ORIGIN, ca, perMessageDeflate: false });
    let got = 0;
    let stage = 0;
    ws.on('message', (data: Buffer) => {
      if (stage === 3) { if (onData?.(data)) ws.close(); return; }
      got += data.length;
      if (stage === 0 && got >= 12) { ws.send(Buffer.from('RFB 003.008\n')); stage = 1; got -= 12; }
      if (stage === 1 && got >= 2) { ws.send(Buffer.from([1])); stage = 2; got -= 2; }
      if (stage === 2 && got >= 4) { ws.send(Buffer.from([1])); stage = 3; resolve(ws); }
    });
    ws.on('error', reject);
    ws.on('close', (code, reason) => { if (stage < 3) reject(new Error(`closed ${code} ${reason.toString()}`)); });
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
          if (stage === 0) { socket.write('RFB 003.008\n'); socket.write(Buffer.from([1])); socket.write(Buffer.from([1])); stage = 1; started = process.hrtime.bigint(); return; }
          got += chunk.length;
          if (got >= target) { socket.destroy(); resolve(rate(got, started)); }
        });
        socket.on('error', reject);
      });
    },
    async portholeThroughput(megabytes) {
      const target = megabytes * 1e6;
      let got = 0;
      let started = 0n;
      let done!: (v: number) => void;
      const finished = new Promise<number>((r) => { done = r; });
      await openSession((chunk) => {
        if (started === 0n) started = process.hrtime.bigint();
        got += chunk.length;
        if (got >= target) { done(rate(got, started)); return true; }
        return false;
      });
      return finished;
    },
    async setupRate(sessions) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < sessions; i++) (await openSession(() => true)).close();
      return sessions / (Number(process.hrtime.bigint() - started) / 1e9);
    },
    async close() {
      proxy.close();
      await new Promise((r) => server.close(r));
      await display.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
