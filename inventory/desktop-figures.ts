// Per-desktop figures for administrators (IsardVDI's monitoring): CPU, memory, network and disk
// rates of every running desktop, from one bulk statistics call per host per interval
// (domain-stats.ts). Rates are the change of libvirt's counters between two readings; sampling
// starts when someone first asks (the admin console, a metrics scrape), so a gateway nobody
// watches never pays for it.
import type { DomainCounters } from './domain-stats.js';

export interface DesktopFigures {
  /** The desktop's id (its domain UUID). */
  id: string;
  hypervisor: string;
  /** When libvirt's counters were read. */
  at: Date;
  /** Share of its vCPUs' time it used since the reading before (0 to 1). */
  cpu?: number;
  vcpus?: number;
  /** Memory the guest has, the most it may have, and what QEMU holds on the host, bytes. */
  memoryBytes?: number;
  maxMemoryBytes?: number;
  residentBytes?: number;
  /** Bytes per second since the reading before. */
  netRxBytesPerSecond?: number;
  netTxBytesPerSecond?: number;
  diskReadBytesPerSecond?: number;
  diskWriteBytesPerSecond?: number;
}

/** How often each host is read once figures were asked for. */
export const FIGURES_INTERVAL_MS = 10_000;

interface Reading {
  at: number;
  counters: DomainCounters;
}

/** A rate between two readings of a counter; none where the counter went back (a new QEMU: a restart or a migration). */
function rate(before: number | undefined, after: number | undefined, seconds: number): number | undefined {
  if (before === undefined || after === undefined || after < before || seconds <= 0) return undefined;
  return (after - before) / seconds;
}

/** The figures of one desktop from its reading now and the one before (if any). */
export function figuresBetween(hypervisor: string, now: Reading, before: Reading | undefined): DesktopFigures {
  const c = now.counters;
  const figures: DesktopFigures = {
    id: c.uuid,
    hypervisor,
    at: new Date(now.at),
    ...(c.vcpus !== undefined ? { vcpus: c.vcpus } : {}),
    ...(c.memoryBytes !== undefined ? { memoryBytes: c.memoryBytes } : {}),
    ...(c.maxMemoryBytes !== undefined ? { maxMemoryBytes: c.maxMemoryBytes } : {}),
    ...(c.residentBytes !== undefined ? { residentBytes: c.residentBytes } : {}),
  };
  if (!before) return figures;
  const seconds = (now.at - before.at) / 1000;
  const b = before.counters;
  const cpuNsPerSecond = rate(b.cpuNs, c.cpuNs, seconds);
  if (cpuNsPerSecond !== undefined) figures.cpu = Math.min(1, cpuNsPerSecond / 1e9 / Math.max(1, c.vcpus ?? 1));
  const set = (key: keyof DesktopFigures, value: number | undefined) => {
    if (value !== undefined) (figures as unknown as Record<string, number>)[key] = value;
  };
  set('netRxBytesPerSecond', rate(b.netRxBytes, c.netRxBytes, seconds));
  set('netTxBytesPerSecond', rate(b.netTxBytes, c.netTxBytes, seconds));
  set('diskReadBytesPerSecond', rate(b.diskReadBytes, c.diskReadBytes, seconds));
  set('diskWriteBytesPerSecond', rate(b.diskWriteBytes, c.diskWriteBytes, seconds));
  return figures;
}

/** A host whose running domains' counters can be read in one call. */
export interface CountedHost {
  name: string;
  domainCounters(): Promise<DomainCounters[]>;
}

export class FiguresSampler {
  /** Per host, each running domain's last reading. */
  readonly #readings = new Map<string, Map<string, Reading>>();
  /** Per host, its desktops' figures from the last reading. */
  readonly #figures = new Map<string, DesktopFigures[]>();
  #timer: NodeJS.Timeout | undefined;
  #first: Promise<void> | undefined;
  #sampling = false;

  constructor(
    readonly hosts: readonly CountedHost[],
    readonly intervalMs = FIGURES_INTERVAL_MS,
    readonly onWarning: (hypervisor: string, message: string) => void = () => {},
  ) {}

  /**
   * Every running desktop's figures from the last readings (rates once two readings were taken).
   * The first call starts the sampling and waits for the first reading.
   */
  async figures(): Promise<DesktopFigures[]> {
    if (!this.#first) {
      this.#first = this.#sample();
      this.#timer = setInterval(() => void this.#sample(), this.intervalMs);
      this.#timer.unref();
    }
    await this.#first;
    // One desktop once: during a migration both hosts may briefly run it; the later reading wins.
    const byId = new Map<string, DesktopFigures>();
    for (const list of this.#figures.values())
      for (const f of list) {
        const known = byId.get(f.id);
        if (!known || known.at < f.at) byId.set(f.id, f);
      }
    return [...byId.values()];
  }

  async #sample(): Promise<void> {
    if (this.#sampling) return; // a slow host: the next tick does not pile onto this one
    this.#sampling = true;
    try {
      await Promise.all(this.hosts.map((h) => this.#sampleHost(h)));
    } finally {
      this.#sampling = false;
    }
  }

  async #sampleHost(host: CountedHost): Promise<void> {
    let counters: DomainCounters[];
    try {
      counters = await host.domainCounters();
    } catch (error) {
      this.#figures.delete(host.name);
      this.#readings.delete(host.name);
      this.onWarning(host.name, `statistics: ${(error as Error).message}`);
      return;
    }
    const at = Date.now();
    const before = this.#readings.get(host.name) ?? new Map<string, Reading>();
    const now = new Map<string, Reading>();
    const figures: DesktopFigures[] = [];
    for (const c of counters) {
      const reading = { at, counters: c };
      now.set(c.uuid, reading);
      figures.push(figuresBetween(host.name, reading, before.get(c.uuid)));
    }
    this.#readings.set(host.name, now);
    this.#figures.set(host.name, figures);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
