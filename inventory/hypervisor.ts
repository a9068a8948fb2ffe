// One hypervisor's libvirt connection: opened on first use, watched while it is up, and reopened
// with backoff after it was lost (connection-health.ts says connected, reconnecting or down).
import { Hypervisor as LibvirtConnection, DomainGetXMLDescFlags, type Domain } from '@unraid/libvirt';
import type { DesktopState } from '../contract/desktop.js';
import { ConnectionHealth, type HypervisorCondition } from './connection-health.js';
import { readDomainCounters, type DomainCounters } from './domain-stats.js';
import { GuestAddresses } from './guest-addresses.js';
import { call, CConnection, libvirt } from './libvirt-c.js';
import { hostOfUri, type HypervisorSpec } from './hypervisor-spec.js';

/** What one libvirt domain looks like right now, with its secure XML (display passwords included). */
export interface DomainSnapshot {
  uuid: string;
  state: DesktopState;
  xml: string;
}

// virDomainState, in libvirt's numbering.
const STATES: readonly DesktopState[] = ['unknown', 'running', 'blocked', 'paused', 'shutting down', 'shut off', 'crashed', 'suspended'];

/** Told of every libvirt call: which hypervisor, how long it took, whether it succeeded. */
export type LibvirtCallObserver = (hypervisor: string, seconds: number, ok: boolean) => void;

/** What a user with `<porthole:power/>` may do to a desktop. */
export type PowerAction = 'start' | 'reboot' | 'shutdown';

/** libvirt's VIR_ERR_NO_DOMAIN message. */
const NO_DOMAIN = /^Domain not found\b/;

/** How often a connected hypervisor is asked whether it still answers (a lost one is noticed without a request). */
export const PROBE_MS = 5000;

export class Hypervisor {
  readonly name: string;
  readonly uri: string;
  /** Where displays that listen on a wildcard address are reached. */
  readonly host: string;
  #connection: Promise<LibvirtConnection> | undefined;
  /** The last failed call, for administrators (the health page): when, and libvirt's reason. */
  lastError: { at: Date; message: string } | undefined;
  readonly #c: CConnection;
  readonly #addresses: GuestAddresses;
  readonly #health = new ConnectionHealth(new Date());
  /** The next reconnection attempt, while the connection is lost. */
  #retry: NodeJS.Timeout | undefined;
  /** The liveness probe, while connected. */
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    spec: HypervisorSpec,
    readonly observe: LibvirtCallObserver = () => {},
  ) {
    this.name = spec.name;
    this.uri = spec.uri;
    this.host = hostOfUri(spec.uri);
    this.#c = new CConnection(spec.uri);
    this.#addresses = new GuestAddresses(this.#c);
  }

  /** Connected, reconnecting or down, since when, and libvirt's reason. */
  get condition(): Readonly<HypervisorCondition> {
    return this.#health.condition;
  }

  /** The condition once the host was tried at least once (a first attempt is made now if none was). */
  async tried(): Promise<Readonly<HypervisorCondition>> {
    if (!this.#health.tried && !this.#closed) await this.#connect().catch(() => {});
    return this.#health.condition;
  }

  /** A running guest's IPv4 address as libvirt reports it (leases, guest agent, ARP), if it can tell. */
  guestAddress(uuid: string): Promise<string | undefined> {
    return this.#addresses.first(uuid);
  }

  /** Every running domain's counters (CPU time, memory, bytes moved): one libvirt call. */
  async domainCounters(): Promise<DomainCounters[]> {
    this.#refuseWhileLost();
    const started = performance.now();
    try {
      const counters = await readDomainCounters(this.#c);
      this.observe(this.name, (performance.now() - started) / 1000, true);
      return counters;
    } catch (error) {
      this.observe(this.name, (performance.now() - started) / 1000, false);
      throw error;
    }
  }

  /** While the connection is lost, calls fail at once with why, until the next attempt (the backoff's). */
  #refuseWhileLost(): void {
    if (this.#closed) throw new Error(`the connection to ${this.name} is closed`);
    if (!this.#retry) return;
    const { state, since, reason } = this.#health.condition;
    throw new Error(`${reason ?? 'not connected'} (${state} since ${since.toISOString()})`);
  }

  #connect(): Promise<LibvirtConnection> {
    if (this.#connection) return this.#connection;
    try {
      this.#refuseWhileLost();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.#open();
  }

  /** One attempt to open the connection; a failure schedules the next one (backoff). */
  #open(): Promise<LibvirtConnection> {
    const connection = new LibvirtConnection({ uri: this.uri });
    const opening = connection.connectOpen().then(() => connection);
    this.#connection = opening;
    opening.then(
      () => {
        if (this.#closed) {
          connection.connectClose().catch(() => {});
          return;
        }
        if (this.#connection !== opening) return;
        this.#health.connected(new Date());
        this.#watch();
      },
      (error: Error) => {
        if (this.#connection === opening) this.#connection = undefined;
        this.#health.attemptFailed(new Date(), error.message);
        this.#scheduleRetry();
      },
    );
    return opening;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#open().catch(() => {});
    }, this.#health.nextDelayMs());
    this.#retry.unref();
  }

  /** While connected, asks the host now and then whether it still answers. */
  #watch(): void {
    if (this.#probe) return;
    let probing = false;
    this.#probe = setInterval(() => {
      const current = this.#connection;
      if (!current || probing) return;
      probing = true;
      void current
        .then((c) => this.#stillAlive(c))
        .then((alive) => {
          if (alive !== true && this.#connection === current) this.#lost(alive.message);
        })
        .catch(() => {})
        .finally(() => (probing = false));
    }, PROBE_MS);
    this.#probe.unref();
  }

  async #stillAlive(c: LibvirtConnection): Promise<true | Error> {
    try {
      await c.connectGetHostname();
      return true;
    } catch (error) {
      return error as Error;
    }
  }

  /** The connection was lost: dropped (both of them), reconnecting with backoff from now. */
  #lost(reason: string): void {
    const stale = this.#connection;
    this.#connection = undefined;
    stale?.then((c) => c.connectClose()).catch(() => {});
    this.#c.reset();
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#health.lost(new Date(), reason);
    this.#scheduleRetry();
  }

  /**
   * Runs `work` on the connection. A failed call whose connection no longer answers marks the
   * host as lost (reconnecting with backoff); a refusal on a live connection (no such domain,
   * already running) leaves it as it is.
   */
  async #use<T>(work: (c: LibvirtConnection) => Promise<T>): Promise<T> {
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    const pending = this.#connect();
    let connection: LibvirtConnection;
    try {
      connection = await pending;
    } catch (error) {
      this.observe(this.name, took(), false);
      this.lastError = { at: new Date(), message: (error as Error).message };
      throw error;
    }
    try {
      const result = await work(connection);
      this.observe(this.name, took(), true);
      return result;
    } catch (error) {
      this.observe(this.name, took(), false);
      this.lastError = { at: new Date(), message: (error as Error).message };
      if (this.#connection === pending && (await this.#stillAlive(connection)) !== true && this.#connection === pending) {
        this.#lost((error as Error).message);
      }
      throw error;
    }
  }

  async #snapshot(c: LibvirtConnection, domain: Domain): Promise<DomainSnapshot> {
    const [uuid, info, xml] = await Promise.all([
      c.domainGetUUIDString(domain),
      c.domainGetInfo(domain),
      c.domainGetXMLDesc(domain, DomainGetXMLDescFlags.SECURE),
    ]);
    return { uuid: uuid.toLowerCase(), state: STATES[info.state] ?? 'unknown', xml };
  }

  /**
   * Starts, shuts down (ACPI: the guest's own shutdown) or reboots (ACPI) a domain. Resolves when
   * libvirt accepted it; the guest then takes its time. Rejects with libvirt's reason.
   */
  async power(uuid: string, action: PowerAction): Promise<void> {
    if (action === 'reboot') {
      this.#refuseWhileLost();
      // @unraid/libvirt binds no virDomainReboot: the C API (flags 0: the hypervisor's default, ACPI for QEMU).
      const api = libvirt();
      const result = await this.#c.withDomain(uuid, (domain) => call<number>(api.reboot, domain, 0));
      if (result === undefined) throw new Error('the domain does not exist on this host');
      if (result !== 0) {
        const error = api.lastError() as { message?: string } | null;
        throw new Error(error && typeof error === 'object' && 'message' in error ? String(error.message) : 'libvirt refused the reboot');
      }
      return;
    }
    await this.#use(async (connection) => {
      const domain = await connection.domainLookupByUUIDString(uuid);
      if (action === 'start') await connection.domainCreate(domain);
      else await connection.domainShutdown(domain);
    });
  }

  /** Every domain, running or not. */
  listDomains(): Promise<DomainSnapshot[]> {
    return this.#use(async (c) => {
      const domains = await c.connectListAllDomains();
      return Promise.all(domains.map((d) => this.#snapshot(c, d)));
    });
  }

  /** One domain by UUID, or undefined when libvirt does not know it. */
  async domain(uuid: string): Promise<DomainSnapshot | undefined> {
    return this.#use(async (c) => {
      let domain: Domain;
      try {
        domain = await c.domainLookupByUUIDString(uuid);
      } catch (error) {
        // VIR_ERR_NO_DOMAIN (the binding keeps only libvirt's message); anything else may be a
        // lost connection, which is a host down, not "no such desktop".
        if (NO_DOMAIN.test((error as Error).message) || (await this.#stillAlive(c)) === true) return undefined;
        throw error;
      }
      return this.#snapshot(c, domain);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#probe);
    this.#retry = undefined;
    this.#probe = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await connection.then((c) => c.connectClose()).catch(() => {});
    await this.#c.close();
  }
}
