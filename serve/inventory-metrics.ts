// The inventory as operators watch it: each hypervisor's connection state (one gauge per state,
// 1 for the current one) and since when, and the running desktops' figures. Label sets stay
// bounded: hypervisors are configured, desktops are at most FIGURE_SERIES_MAX (their ids, never
// a user's name), and directions are fixed words.
import { Gauge, type Registry } from 'prom-client';
import type { HypervisorState } from '../inventory/connection-health.js';
import type { DesktopFigures } from '../inventory/desktop-figures.js';
import type { Inventory } from '../inventory/inventory.js';

const STATES: readonly HypervisorState[] = ['connected', 'reconnecting', 'down'];
/** Past this many running desktops, figures are in the admin console only (a scrape stays small). */
export const FIGURE_SERIES_MAX = 5000;

export function registerInventoryMetrics(registry: Registry, inventory: Inventory): void {
  new Gauge({
    name: 'porthole_hypervisor_state',
    help: "Each hypervisor's libvirt connection: 1 for its current state (connected, reconnecting, down), 0 for the others",
    labelNames: ['hypervisor', 'state'],
    registers: [registry],
    // Several worker processes each have a connection: the share of them in each state.
    aggregator: 'average',
    collect() {
      for (const h of inventory.conditions())
        for (const state of STATES) this.set({ hypervisor: h.name, state }, h.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'porthole_hypervisor_state_since_seconds',
    help: "When each hypervisor's connection entered its current state (Unix time)",
    labelNames: ['hypervisor'],
    registers: [registry],
    aggregator: 'min',
    collect() {
      for (const h of inventory.conditions()) this.set({ hypervisor: h.name }, h.since.getTime() / 1000);
    },
  });

  // Figures: read once per scrape from the inventory's last readings (they start at the first scrape).
  let pending: Promise<DesktopFigures[]> | undefined;
  const figures = () => {
    pending ??= inventory.figures().finally(() => setImmediate(() => (pending = undefined)));
    return pending.then((all) => all.slice(0, FIGURE_SERIES_MAX));
  };
  /** A gauge of one or more figures, each under its value of `label` (or none). */
  const figureGauge = (name: string, help: string, label: string | undefined, series: Array<[string, NumberKey]>) =>
    new Gauge({
      name,
      help,
      labelNames: ['desktop', 'hypervisor', ...(label ? [label] : [])],
      registers: [registry],
      aggregator: 'average', // each worker process reads the same counters
      async collect() {
        this.reset();
        for (const f of await figures().catch(() => []))
          for (const [value, key] of series) {
            const n = f[key];
            if (n !== undefined) this.set({ desktop: f.id, hypervisor: f.hypervisor, ...(label ? { [label]: value } : {}) }, n);
          }
      },
    });
  figureGauge('porthole_desktop_cpu_ratio', "A running desktop's share of its vCPUs' time, over the last interval (0 to 1)", undefined, [
    ['', 'cpu'],
  ]);
  figureGauge(
    'porthole_desktop_memory_bytes',
    "A running desktop's memory: what the guest has (guest), what QEMU holds on the host (resident)",
    'kind',
    [
      ['guest', 'memoryBytes'],
      ['resident', 'residentBytes'],
    ],
  );
  figureGauge('porthole_desktop_network_bytes_per_second', "A running desktop's network traffic over the last interval", 'direction', [
    ['rx', 'netRxBytesPerSecond'],
    ['tx', 'netTxBytesPerSecond'],
  ]);
  figureGauge('porthole_desktop_disk_bytes_per_second', "A running desktop's disk traffic over the last interval", 'direction', [
    ['read', 'diskReadBytesPerSecond'],
    ['write', 'diskWriteBytesPerSecond'],
  ]);
}

type NumberKey = { [K in keyof DesktopFigures]-?: DesktopFigures[K] extends number | undefined ? K : never }[keyof DesktopFigures];
