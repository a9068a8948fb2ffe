// The inventory: every desktop on every configured hypervisor, read live from libvirt.
// It is the only source of connection targets; nothing a client sends names a host or port.
import type { Desktop, DisplayEndpoint } from '../contract/desktop.js';
import type { ProtocolRegistry } from '../contract/protocol.js';
import { parseDomainXml } from './domain-xml.js';
import type { HypervisorState } from './connection-health.js';
import { FiguresSampler, FIGURES_INTERVAL_MS, type DesktopFigures } from './desktop-figures.js';
import { Hypervisor, type DomainSnapshot, type LibvirtCallObserver, type PowerAction } from './hypervisor.js';
import type { HypervisorSpec } from './hypervisor-spec.js';
import { HypervisorUnreachableError } from './hypervisor-unreachable.js';

export interface InventoryWarning {
  hypervisor: string;
  message: string;
}

/**
 * How long one survey of every host answers desktop lists. At 8:00 a class of 30, or a school of
 * 1,000, loads its lists within seconds: each list would otherwise read every domain of every
 * host again (1 + 3N libvirt calls per host). Lists may be this much behind; the one desktop a
 * connection or a power action names is always read fresh (`get`), and a power action forgets
 * the survey at once.
 */
export const SURVEY_FRESH_MS = 2000;
/**
 * A reading older than SURVEY_FRESH_MS but younger than this answers lists at once while a new
 * one is taken (as a cache that revalidates behind the answer): a wave of lists never waits for
 * a reading of 2,400 domains. Older than this, a list waits for the new reading.
 */
export const SURVEY_STALE_MS = 30_000;

type Survey = { desktops: Desktop[]; unreachable: string[] };

/**
 * One hypervisor as administrators see it: connected, reconnecting or down since when (with
 * libvirt's reason), how many desktops it has and runs (from the lists' last reading), its last
 * error.
 */
export interface HypervisorStatus {
  name: string;
  host: string;
  state: HypervisorState;
  since: Date;
  reason?: string;
  reachable: boolean;
  domains: number;
  running: number;
  lastError?: { at: Date; message: string };
}

export class Inventory {
  readonly hypervisors: ReadonlyMap<string, Hypervisor>;
  readonly #onWarning: (w: InventoryWarning) => void;
  /** The last survey, or the one under way: concurrent lists share it. */
  #survey: { at: number; result: Promise<Survey> } | undefined;
  /** The last survey that completed, for answering while a new one is taken. */
  #lastGood: { at: number; result: Survey } | undefined;
  readonly #figures: FiguresSampler;

  constructor(
    specs: HypervisorSpec[],
    readonly protocols: ProtocolRegistry,
    onWarning: (w: InventoryWarning) => void = () => {},
    observe?: LibvirtCallObserver,
    options: { figuresIntervalMs?: number } = {},
  ) {
    this.hypervisors = new Map(specs.map((s) => [s.name, new Hypervisor(s, observe)]));
    this.#onWarning = onWarning;
    this.#figures = new FiguresSampler(
      [...this.hypervisors.values()],
      options.figuresIntervalMs ?? FIGURES_INTERVAL_MS,
      (hypervisor, message) => onWarning({ hypervisor, message }),
    );
  }

  /**
   * Every running desktop's CPU, memory, network and disk figures, from one statistics call per
   * host per interval (the first call starts the readings and waits for the first).
   */
  figures(): Promise<DesktopFigures[]> {
    return this.#figures.figures();
  }

  async #desktop(hypervisor: Hypervisor, snapshot: DomainSnapshot): Promise<Desktop | undefined> {
    let description;
    try {
      description = parseDomainXml(snapshot.xml, hypervisor.host, this.protocols);
    } catch (error) {
      this.#onWarning({ hypervisor: hypervisor.name, message: `domain ${snapshot.uuid}: ${(error as Error).message}` });
      return undefined;
    }
    const displays: DisplayEndpoint[] = snapshot.state === 'running' ? [...description.displays] : [];
    let guest: string | undefined;
    for (const endpoint of description.guestEndpoints) {
      // A server inside the guest (RDP) needs the guest's address: the metadata's, or else what
      // libvirt knows of the guest, asked once per domain.
      guest ??= endpoint.address ?? (snapshot.state === 'running' ? await this.#guestAddress(hypervisor, snapshot.uuid) : undefined);
      const host = endpoint.address ?? guest;
      if (host) displays.push({ protocol: endpoint.protocol, host, port: endpoint.port });
    }
    // In the registry's fallback order, whatever order the domain lists them in.
    const order = this.protocols.ids;
    displays.sort((a, b) => order.indexOf(a.protocol) - order.indexOf(b.protocol));
    return {
      id: description.uuid,
      name: description.name,
      hypervisor: hypervisor.name,
      uuid: description.uuid,
      state: snapshot.state,
      users: description.users,
      groups: description.groups,
      power: description.power,
      displays,
    };
  }

  async #guestAddress(hypervisor: Hypervisor, uuid: string): Promise<string | undefined> {
    try {
      return await hypervisor.guestAddress(uuid);
    } catch (error) {
      this.#onWarning({ hypervisor: hypervisor.name, message: `domain ${uuid}: guest address: ${(error as Error).message}` });
      return undefined;
    }
  }

  /**
   * Every domain on every hypervisor, and the names of the hypervisors that could not be read
   * (reported, not fatal: their desktops are missing). Lists called together, or within
   * SURVEY_FRESH_MS of each other, share one reading of the hosts.
   */
  survey(): Promise<Survey> {
    const now = Date.now();
    if (this.#survey && now - this.#survey.at < SURVEY_FRESH_MS) return this.#survey.result;
    const result = this.#readEveryHost();
    const entry = { at: now, result };
    this.#survey = entry;
    result.then(
      (survey) => {
        if (this.#survey === entry) this.#lastGood = { at: entry.at, result: survey };
      },
      // A failed reading is not kept: the next list tries again.
      () => {
        if (this.#survey === entry) this.#survey = undefined;
      },
    );
    const last = this.#lastGood;
    return last && now - last.at < SURVEY_STALE_MS ? Promise.resolve(last.result) : result;
  }

  /** Forgets what was read, so that the next list waits for every host (after a power action). */
  forgetSurvey(): void {
    this.#survey = undefined;
    this.#lastGood = undefined;
  }

  async #readEveryHost(): Promise<Survey> {
    const results = await Promise.allSettled(
      [...this.hypervisors.values()].map(async (h) => Promise.all((await h.listDomains()).map((s) => this.#desktop(h, s)))),
    );
    // One desktop per UUID: where it runs, else the first host (in configuration order) that has it.
    const byUuid = new Map<string, Desktop>();
    const unreachable: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        for (const d of result.value) {
          if (!d) continue;
          const known = byUuid.get(d.uuid);
          if (!known || (known.state !== 'running' && d.state === 'running')) byUuid.set(d.uuid, d);
        }
      } else {
        const name = [...this.hypervisors.keys()][i]!;
        unreachable.push(name);
        this.#onWarning({ hypervisor: name, message: (result.reason as Error).message });
      }
    });
    const desktops = [...byUuid.values()];
    return { desktops: desktops.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)), unreachable };
  }

  /**
   * One desktop by id (its domain UUID), read fresh from every hypervisor: the one where it runs,
   * else the first that has it; undefined when none has it. After a live migration this finds it
   * on its new host, so links and viewers keep working.
   * @throws HypervisorUnreachableError when it runs nowhere that could be read and a host that
   *   may have it cannot be read (it may be running there: Porthole does not guess)
   */
  async get(id: string): Promise<Desktop | undefined> {
    const uuid = id.toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) return undefined;
    const hosts = [...this.hypervisors.values()];
    const found = await Promise.allSettled(hosts.map((h) => h.domain(uuid)));
    let stopped: { hypervisor: Hypervisor; snapshot: DomainSnapshot } | undefined;
    let unreachable: { hypervisor: Hypervisor; error: unknown } | undefined;
    for (const [i, result] of found.entries()) {
      const hypervisor = hosts[i]!;
      if (result.status === 'rejected') {
        unreachable ??= { hypervisor, error: result.reason };
        continue;
      }
      const snapshot = result.value;
      if (!snapshot) continue;
      if (snapshot.state === 'running') return this.#desktop(hypervisor, snapshot);
      stopped ??= { hypervisor, snapshot };
    }
    if (unreachable) throw new HypervisorUnreachableError(unreachable.hypervisor.name, unreachable.error);
    return stopped ? this.#desktop(stopped.hypervisor, stopped.snapshot) : undefined;
  }

  /**
   * Every hypervisor's condition (in configuration order), and its desktops as the lists read
   * them: no extra libvirt calls, and none to a host that is down (it is retried on its backoff).
   */
  async health(): Promise<HypervisorStatus[]> {
    const [{ desktops }] = await Promise.all([this.survey(), ...[...this.hypervisors.values()].map((h) => h.tried())]);
    return [...this.hypervisors.values()].map((h) => {
      const { state, since, reason } = h.condition;
      const own = desktops.filter((d) => d.hypervisor === h.name);
      return {
        name: h.name,
        host: h.host,
        state,
        since,
        ...(reason !== undefined && state !== 'connected' ? { reason } : {}),
        reachable: state === 'connected',
        domains: own.length,
        running: own.filter((d) => d.state === 'running').length,
        ...(h.lastError ? { lastError: h.lastError } : {}),
      };
    });
  }

  /** Each hypervisor's condition now, without asking anything (metrics). */
  conditions(): Array<{ name: string; state: HypervisorState; since: Date }> {
    return [...this.hypervisors.values()].map((h) => ({ name: h.name, state: h.condition.state, since: h.condition.since }));
  }

  /** Starts, reboots or shuts down a desktop on the host it was found on. */
  async power(desktop: Desktop, action: PowerAction): Promise<void> {
    const hypervisor = this.hypervisors.get(desktop.hypervisor);
    if (!hypervisor) throw new Error(`no hypervisor named ${desktop.hypervisor}`);
    try {
      await hypervisor.power(desktop.uuid, action);
    } finally {
      this.forgetSurvey(); // the state changes from now on: lists read it again
    }
  }

  async close(): Promise<void> {
    this.#figures.close();
    await Promise.all([...this.hypervisors.values()].map((h) => h.close()));
  }
}
