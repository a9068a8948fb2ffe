// /metrics on a listener of its own (PORTHOLE_METRICS_LISTEN, loopback by default), never on the
// public port: a scraper on the operators' network reads it, users cannot. Plain HTTP, as
// Prometheus scrapes; nothing else is served there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the listener serves: one process's registry, or (several workers) their sum, gathered by the primary. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsListener {
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenForMetrics(registry: MetricsSource, listen: { host: string; port: number }): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      },
      (error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`The metrics could not be collected: ${error.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
