// `porthole serve` (what `npm start` runs) in a process of its own, with its own data,
// certificate and ports: for what only a process shows (signals, workers, a crash and a start
// again on the same data and port). What it prints goes to the run's log-secrecy check.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCertificate } from '../../certs/self-signed.js';
import { gatewayClient, type GatewayClient } from './gateway-client.js';
import { freePort } from './ports.js';
import { gatewayLogRecorder } from './secret-record.js';
import { waitUntilHealthy } from './serve-health.js';

const BIN = fileURLToPath(new URL('../../../bin/porthole.js', import.meta.url));

export interface Served {
  child: ChildProcess;
  client: GatewayClient;
  port: number;
  /** https://localhost:PORT, the public URL. */
  origin: string;
  /** wss://localhost:PORT */
  wsOrigin: string;
  metricsUrl: string;
  output: () => string;
  /** The exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Ends it at once if it still runs (SIGKILL): for cleanup and for crashes. */
  kill(): void;
}

export interface ServeOptions {
  /** PORTHOLE_DATA; a second start on the same folder finds the first one's users, sign-ins and keys. */
  data: string;
  libvirt: string;
  /** Written to PORTHOLE_DATA/porthole.json and named by PORTHOLE_CONFIG. */
  config?: object;
  env?: Record<string, string>;
  /** The public port (a start again takes the one before); a free one by default. */
  port?: number;
  healthyWithinMs?: number;
}

export async function serve(options: ServeOptions): Promise<Served> {
  const tls = await ensureSelfSignedCertificate('localhost', join(options.data, 'certs'));
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const origin = `https://localhost:${port}`;
  const configEnv: Record<string, string> = {};
  if (options.config) {
    configEnv.PORTHOLE_CONFIG = join(options.data, 'porthole.json');
    writeFileSync(configEnv.PORTHOLE_CONFIG, JSON.stringify(options.config));
  }
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      // Not the test runner's context: workers forked under it would report to it, not log.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_TEST_'))),
      ...configEnv,
      PORTHOLE_DATA: options.data,
      PORTHOLE_LIBVIRT: options.libvirt,
      PORTHOLE_LISTEN: `127.0.0.1:${port}`,
      PORTHOLE_PUBLIC_URL: origin,
      PORTHOLE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      PORTHOLE_TLS_CERT: tls.cert,
      PORTHOLE_TLS_KEY: tls.key,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const record = gatewayLogRecorder();
  const take = (d: Buffer) => {
    output += d;
    record(String(d));
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const client = gatewayClient({ address: '127.0.0.1', port, origin, ca: readFileSync(tls.cert) });
  try {
    await waitUntilHealthy(client, options.healthyWithinMs ?? 30_000, () => output);
  } catch (error) {
    kill();
    throw error;
  }
  return {
    child,
    client,
    port,
    origin,
    wsOrigin: `wss://localhost:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    output: () => output,
    exited,
    kill,
  };
}
