// Porthole nodes for the cluster benchmarks: `porthole serve` as `npm start` runs it, each its
// own process (its workers under it), on loopback ports, sharing one data directory (users,
// signing keys) and, when given, one Redis; with a synthetic VNC display as the desktop.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { gatewayClient, type GatewayClient } from '../test/bed/gateway-client.js';
import { freePort } from '../test/bed/ports.js';
import { waitUntilHealthy } from '../test/bed/serve-health.js';

const BIN = fileURLToPath(new URL('../../bin/porthole.js', import.meta.url));

export interface BenchNode {
  client: GatewayClient;
  /** The serving process (the primary, with PORTHOLE_WORKERS > 1). */
  pid: number;
  close(): Promise<void>;
}

export async function startBenchNode(options: { data: string; libvirt: string; redis?: string; workers: number }): Promise<BenchNode> {
  const tls = await ensureSelfSignedCertificate('localhost', join(options.data, 'certs'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      PORTHOLE_DATA: options.data,
      PORTHOLE_LIBVIRT: options.libvirt,
      PORTHOLE_LISTEN: `127.0.0.1:${port}`,
      PORTHOLE_PUBLIC_URL: `https://localhost:${port}`,
      PORTHOLE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      PORTHOLE_TLS_CERT: tls.cert,
      PORTHOLE_TLS_KEY: tls.key,
      PORTHOLE_LOG_LEVEL: 'warn',
      PORTHOLE_WORKERS: String(options.workers),
      ...(options.redis ? { PORTHOLE_REDIS: options.redis } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  child.stderr!.on('data', (d: Buffer) => (said = (said + String(d)).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = gatewayClient({ address: '127.0.0.1', port, origin: `https://localhost:${port}`, ca: readFileSync(tls.cert) });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitUntilHealthy(client, 60_000, () => said);
  } catch (error) {
    await close();
    throw error;
  }
  return { client, pid: child.pid!, close };
}
