// One libvirt connection, opened on first use and reopened after it fails.
import { Hypervisor as LibvirtConnection, DomainGetXMLDescFlags, type Domain } from '@unraid/libvirt';
import type { DesktopState } from '../contract/desktop.js';
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

  /** A running guest's IPv4 address as libvirt reports it (leases, guest agent, ARP), if it can tell. */
  guestAddress(uuid: string): Promise<string | undefined> {
    return this.#addresses.first(uuid);
  }

  #connect(): Promise<LibvirtConnection> {
    if (!this.#connection) {
      const connection = new LibvirtConnection({ uri: this.uri });
      this.#connection = connection.connectOpen().then(() => connection);
      // A failed open is forgotten so that the next call tries again.
      this.#connection.catch(() => {
        this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  /** Runs `work` on the connection; a libvirt error drops the connection so the next call reopens it. */
  async #use<T>(work: (c: LibvirtConnection) => Promise<T>): Promise<T> {
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    let connection: LibvirtConnection;
    try {
      connection = await this.#connect();
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
      if (this.#connection) {
        const stale = this.#connection;
        this.#connection = undefined;
        stale.then((c) => c.connectClose()).catch(() => {});
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
    const connection = await this.#connect();
    // Not through #use: a refusal (say, already running) is libvirt's answer, not a broken connection.
    const domain = await connection.domainLookupByUUIDString(uuid);
    if (action === 'start') await connection.domainCreate(domain);
    else await connection.domainShutdown(domain);
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
      } catch {
        return undefined; // VIR_ERR_NO_DOMAIN: the connection itself is fine
      }
      return this.#snapshot(c, domain);
    });
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await connection.then((c) => c.connectClose()).catch(() => {});
    await this.#c.close();
  }
}
