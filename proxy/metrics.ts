// What the proxy counts for operators, in Prometheus form.
import { Counter, Gauge, Registry } from 'prom-client';

export class ProxyMetrics {
  readonly connections: Counter<'protocol' | 'result'>;
  readonly active: Gauge<'protocol'>;
  readonly bytes: Counter<'protocol' | 'channel' | 'direction'>;

  constructor(registry: Registry) {
    this.connections = new Counter({
      name: 'porthole_proxy_connections_total',
      help: 'WebSocket connections by protocol and how their handshake ended (ok, or the close code)',
      labelNames: ['protocol', 'result'],
      registers: [registry],
    });
    this.active = new Gauge({
      name: 'porthole_proxy_active_connections',
      help: 'Connections being relayed now',
      labelNames: ['protocol'],
      registers: [registry],
    });
    this.bytes = new Counter({
      name: 'porthole_proxy_bytes_total',
      help: 'Bytes relayed, by protocol, traffic kind (e.g. spice.display) and direction (to_client, to_display), counted when a connection ends',
      labelNames: ['protocol', 'channel', 'direction'],
      registers: [registry],
    });
  }
}
