// "A running gateway" for integration and end-to-end tests: Porthole as `porthole serve` runs
// it (HTTPS, broker, proxy, web client), on a free loopback port, with its own data directory,
// users, and a log captured in memory so tests can check that no secret reaches it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../serve/config.js';
import { createLogger } from '../../gateway/logger.js';
import type { ProtocolModule } from '../../serve/protocols.js';
import { startGateway, type Gateway } from '../../serve/server.js';
import { UserStore, type Role } from '../../gateway/users.js';
import { ensureSelfSignedCertificate } from '../../certs/self-signed.js';
import { gatewayClient, type GatewayClient } from './gateway-client.js';
import { freePort } from './ports.js';
import { gatewayLogRecorder, recordSecret, recordToken } from './secret-record.js';

export type { ApiResponse, Attempt } from './gateway-client.js';

export interface TestUser {
  name: string;
  password: string;
  role: Role;
  groups?: string[];
}

export interface RunningGateway extends GatewayClient {
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
  /** The Prometheus text from the metrics listener (PORTHOLE_METRICS_LISTEN), apart from the public port. */
  metrics(): Promise<string>;
  /** Stops the gateway and starts it again on the same port, data and configuration (as an upgrade or a crash and restart would). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * @param options.dataDir PORTHOLE_DATA to use (and keep: a restart test starts a second gateway on it); a new one by default
 * @param options.config written as the PORTHOLE_CONFIG file (JSON), e.g. `{ directory: { ldap: {...} } }`
 */
export async function startTestGateway(options: {
  libvirt: string;
  users: TestUser[];
  env?: Record<string, string>;
  protocols?: readonly ProtocolModule[];
  dataDir?: string;
  config?: object;
  /** The port to listen on, when something must know it before the start (an OpenID provider's redirect URI). */
  port?: number;
}): Promise<RunningGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'porthole-gw-'));
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const origin = `https://localhost:${port}`;
  const certDir = join(dataDir, 'certs');
  const tls = await ensureSelfSignedCertificate('localhost', certDir);
  const configFile = join(dataDir, 'porthole.json');
  if (options.config) writeFileSync(configFile, JSON.stringify(options.config));
  const env = {
    ...(options.config ? { PORTHOLE_CONFIG: configFile } : {}),
    PORTHOLE_LISTEN: `127.0.0.1:${port}`,
    PORTHOLE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    PORTHOLE_PUBLIC_URL: origin,
    PORTHOLE_LIBVIRT: options.libvirt,
    PORTHOLE_DATA: dataDir,
    PORTHOLE_TLS_CERT: tls.cert,
    PORTHOLE_TLS_KEY: tls.key,
    PORTHOLE_LOG_LEVEL: 'debug',
    ...options.env,
  };
  const store = new UserStore(dataDir);
  for (const u of options.users) {
    recordSecret('user password', u.password);
    await store.upsert(u.name, u.password, u.role, u.groups ?? []);
  }
  const logs: string[] = [];
  const record = gatewayLogRecorder();
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      record(String(chunk));
      done();
    },
  });
  const boot = () => {
    const config = loadConfig(env);
    return startGateway(config, createLogger(config.logLevel, sink), options.protocols);
  };
  let gateway: Gateway;
  try {
    gateway = await boot();
  } catch (error) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const ca = readFileSync(tls.cert);

  const client = recordingSecrets(gatewayClient({ address: '127.0.0.1', port, origin, ca }));
  const running: RunningGateway = {
    gateway,
    origin,
    port,
    ca,
    logs,
    dataDir,
    ...client,
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`metrics listener answered ${res.status}`);
      return res.text();
    },
    async restart() {
      await gateway.close();
      running.gateway = gateway = await boot();
    },
    async close() {
      await gateway.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return running;
}

/** Records every sign-in cookie and display token the client is handed (see secret-record.ts). */
function recordingSecrets(client: GatewayClient): GatewayClient {
  const attempts = (body: unknown) => {
    for (const a of (body as { attempts?: Array<{ token?: string }> } | undefined)?.attempts ?? []) recordToken(a.token);
  };
  return {
    ...client,
    async api(method, path, options) {
      const res = await client.api(method, path, options);
      recordSecret('sign-in cookie', res.cookie?.split('=')[1]);
      attempts(res.body);
      return res;
    },
    async signIn(user, password) {
      const cookie = await client.signIn(user, password);
      recordSecret('sign-in cookie', cookie.split('=')[1]);
      return cookie;
    },
    async connect(cookie, desktopId, body) {
      const list = await client.connect(cookie, desktopId, body);
      attempts({ attempts: list });
      return list;
    },
  };
}
