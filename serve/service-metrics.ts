// What operators watch beyond the proxy's own counters: sign-ins by result, tokens issued,
// lockouts (counted from the audit trail's events, so that metrics and trail cannot disagree),
// libvirt call latency per hypervisor, live sessions by protocol and node, whether the process
// drains, and, with shared state, how this process sees Redis.
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AuditEvent } from '../contract/audit.js';
import type { LiveSessions } from '../proxy/live-sessions.js';
import type { RedisHealth } from '../state/redis-health.js';
import type { ProcessAvailability } from './availability.js';

export class ServiceMetrics {
  readonly #signIns: Counter<'result'>;
  readonly #tokens: Counter<'protocol'>;
  readonly #lockouts: Counter;
  readonly libvirtCalls: Histogram<'hypervisor' | 'result'>;

  #sessions: LiveSessions | undefined;

  constructor(registry: Registry, availability: ProcessAvailability) {
    const live = () => this.#sessions?.local() ?? [];
    this.#signIns = new Counter({
      name: 'porthole_sign_ins_total',
      help: 'Sign-ins by result: ok, or the reason of the refusal (wrong user name or password, locked, ...)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.#tokens = new Counter({
      name: 'porthole_tokens_issued_total',
      help: 'Display tokens issued, by protocol (refusals at the proxy: porthole_proxy_connections_total by close code)',
      labelNames: ['protocol'],
      registers: [registry],
    });
    this.#lockouts = new Counter({
      name: 'porthole_sign_in_lockouts_total',
      help: 'User names (or browsers) locked after repeated failed sign-ins',
      registers: [registry],
    });
    this.libvirtCalls = new Histogram({
      name: 'porthole_libvirt_call_seconds',
      help: 'libvirt calls by hypervisor and result (ok, error)',
      labelNames: ['hypervisor', 'result'],
      buckets: [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const node = hostname();
    new Gauge({
      name: 'porthole_active_sessions',
      help: "Live display sessions of this process by protocol and node (the host's name; a SPICE session counts once, whatever its channels)",
      labelNames: ['protocol', 'node'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of live()) this.inc({ protocol: s.claims.protocol, node });
      },
    });
    new Gauge({
      name: 'porthole_draining',
      help: '1 while this process drains after SIGTERM (takes no new sign-ins or connections), else 0',
      registers: [registry],
      collect() {
        this.set(availability.draining ? 1 : 0);
      },
    });
  }

  /** Redis as this process sees it: whether it answers, its PING round trip, its errors. */
  watchRedis(health: RedisHealth, registry: Registry): void {
    new Gauge({
      name: 'porthole_redis_up',
      help: '1 while Redis answers this process, else 0 (the process then refuses new sign-ins and connections)',
      registers: [registry],
      collect() {
        this.set(health.up ? 1 : 0);
      },
    });
    const pings = new Histogram({
      name: 'porthole_redis_ping_seconds',
      help: "Round trip of the health check's PING to Redis, every second",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    const errors = new Counter({
      name: 'porthole_redis_errors_total',
      help: "Redis errors by kind: connection (the client's error events) or ping (a health check that failed)",
      labelNames: ['kind'],
      registers: [registry],
    });
    health.onProbe((probe) => (probe.error ? errors.inc({ kind: probe.error }) : pings.observe(probe.seconds)));
  }

  /** The live sessions to count (this process's proxy's, once it is built). */
  watchSessions(sessions: LiveSessions): void {
    this.#sessions = sessions;
  }

  /** Counts an audit event that is also a metric. */
  count(event: AuditEvent): void {
    switch (event.event) {
      case 'sign-in':
        this.#signIns.inc({ result: 'ok' });
        break;
      case 'sign-in.refused':
        this.#signIns.inc({ result: String(event.reason ?? 'refused') });
        break;
      case 'sign-in.locked':
        this.#lockouts.inc();
        break;
      case 'token.issued':
        this.#tokens.inc({ protocol: String(event.protocol) });
        break;
      default:
        break;
    }
  }

  observeLibvirt(hypervisor: string, seconds: number, ok: boolean): void {
    this.libvirtCalls.observe({ hypervisor, result: ok ? 'ok' : 'error' }, seconds);
  }
}
