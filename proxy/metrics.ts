// What the proxy counts for operators, in Prometheus form.
import { Counter, Gauge, Registry } from 'prom-client';

/** A connection being relayed, as the byte counter sees it (a Relay). */
export interface MeteredConnection {
  readonly bytesToClient: number;
  readonly bytesToDisplay: number;
}

interface Metered {
  labels: { protocol: string; channel: string };
  /** What the counter already holds of this connection. */
  toClient: number;
  toDisplay: number;
}

export class ProxyMetrics {
  readonly connections: Counter<'protocol' | 'result'>;
  readonly active: Gauge<'protocol'>;
  readonly bytes: Counter<'protocol' | 'channel' | 'direction'>;
  readonly #live = new Map<MeteredConnection, Metered>();

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
    const reportLive = () => {
      for (const connection of this.#live.keys()) this.#report(connection);
    };
    this.bytes = new Counter({
      name: 'porthole_proxy_bytes_total',
      help: 'Bytes relayed, by protocol, traffic kind (e.g. spice.display) and direction (to_client, to_display); live connections up to the moment of the scrape',
      labelNames: ['protocol', 'channel', 'direction'],
      registers: [registry],
      // Live connections are added at each scrape rather than per chunk: nothing on the data
      // path, and a session open for hours still shows what it carries.
      collect() {
        reportLive();
      },
    });
  }

  /** Counts a connection's bytes from now on, under its protocol and kind of traffic. */
  track(connection: MeteredConnection, protocol: string, channel: string): void {
    this.#live.set(connection, { labels: { protocol, channel }, toClient: 0, toDisplay: 0 });
  }

  /** Counts what the connection carried since the last scrape, and forgets it. */
  untrack(connection: MeteredConnection): void {
    this.#report(connection);
    this.#live.delete(connection);
  }

  #report(connection: MeteredConnection): void {
    const metered = this.#live.get(connection);
    if (!metered) return;
    const toClient = connection.bytesToClient - metered.toClient;
    const toDisplay = connection.bytesToDisplay - metered.toDisplay;
    if (toClient > 0) this.bytes.inc({ ...metered.labels, direction: 'to_client' }, toClient);
    if (toDisplay > 0) this.bytes.inc({ ...metered.labels, direction: 'to_display' }, toDisplay);
    metered.toClient = connection.bytesToClient;
    metered.toDisplay = connection.bytesToDisplay;
  }
}
