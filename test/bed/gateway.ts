// "A running gateway" for integration and end-to-end tests: Porthole as `porthole serve` runs
// it (HTTPS, broker, proxy, web client), on a free loopback port, with its own data directory,
// users, and a log captured in memory so tests can check that no secret reaches it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { loadConfig } from '../../gateway/config.js';
import { createLogger } from '../../gateway/logger.js';
import { startGateway, type Gateway } from '../../gateway/server.js';
import { UserStore, type Role } from '../../gateway/users.js';
import { ensureSelfSignedCertificate } from '../../certs/self-signed.js';
import { freePort } from './ports.js';

export interface TestUser {
  name: string;
  password: string;
  role: Role;
  groups?: string[];
}

export interface Attempt {
  protocol: 'spice' | 'vnc' | 'rdp';
  url: string;
  token: string;
  expiresAt: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  cookie?: string;
}

export interface RunningGateway {
  gateway: Gateway;
  /** https://localhost:PORT, the public URL (and the only allowed origin). */
  origin: string;
  port: number;
  /** The CA to trust: the generated self-signed certificate. */
  ca: Buffer;
  /** Every log line, as written. */
  logs: string[];
  /** PORTHOLE_DATA: users, keys, audit.log. */
  dataDir: string;
  api(method: string, path: string, options?: { cookie?: string; body?: unknown; origin?: string | null }): Promise<ApiResponse>;
  signIn(user: string, password: string): Promise<string>;
  connect(cookie: string, desktopId: string, body?: object): Promise<Attempt[]>;
  /** A WebSocket to the proxy, as a browser on this origin (signed in with `cookie`) would open it. */
  webSocket(url: string, options?: { protocol?: string; origin?: string; cookie?: string; localAddress?: string }): WebSocket;
  close(): Promise<void>;
}


export async function startTestGateway(options: { libvirt: string; users: TestUser[]; env?: Record<string, string> }): Promise<RunningGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'porthole-gw-'));
  const port = await freePort();
  const origin = `https://localhost:${port}`;
  const certDir = join(dataDir, 'certs');
  const tls = await ensureSelfSignedCertificate('localhost', certDir);
  const env = {
    PORTHOLE_LISTEN: `127.0.0.1:${port}`,
    PORTHOLE_PUBLIC_URL: origin,
    PORTHOLE_LIBVIRT: options.libvirt,
    PORTHOLE_DATA: dataDir,
    PORTHOLE_TLS_CERT: tls.cert,
    PORTHOLE_TLS_KEY: tls.key,
    PORTHOLE_LOG_LEVEL: 'debug',
    ...options.env,
  };
  const store = new UserStore(dataDir);
  for (const u of options.users) await store.upsert(u.name, u.password, u.role, u.groups ?? []);
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const config = loadConfig(env);
  const gateway = await startGateway(config, createLogger(config.logLevel, sink));
  const ca = readFileSync(tls.cert);

  const api: RunningGateway['api'] = (method, path, { cookie, body, origin: o = origin } = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest({
        host: '127.0.0.1', port, servername: 'localhost', ca, method, path,
        headers: {
          ...(o ? { origin: o } : {}),
          ...(cookie ? { cookie } : {}),
          ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const set = res.headers['set-cookie']?.[0];
          resolve({
            status: res.statusCode ?? 0,
            body: text && res.headers['content-type']?.includes('json') ? JSON.parse(text) : text,
            ...(set ? { cookie: set.split(';', 1)[0]! } : {}),
          });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });

  return {
    gateway, origin, port, ca, logs, dataDir, api,
    async signIn(user, password) {
      const res = await api('POST', '/api/login', { body: { username: user, password } });
      if (res.status !== 200 || !res.cookie) throw new Error(`sign-in of ${user} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.cookie;
    },
    async connect(cookie, desktopId, body = {}) {
      const res = await api('POST', `/api/desktops/${encodeURIComponent(desktopId)}/connect`, { cookie, body });
      if (res.status !== 200) throw new Error(`connect failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { attempts: Attempt[] }).attempts;
    },
    webSocket(url, { protocol, origin: o = origin, cookie, localAddress } = {}) {
      const u = new URL(url);
      u.hostname = '127.0.0.1'; // the certificate names 127.0.0.1 too
      // localAddress: another loopback address (127.0.0.2) stands for another client machine.
      return new WebSocket(u, protocol ? [protocol] : [], { origin: o, ca, ...(cookie ? { headers: { cookie } } : {}), ...(localAddress ? { localAddress } : {}) });
    },
    async close() {
      await gateway.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
