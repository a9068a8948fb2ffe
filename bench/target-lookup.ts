// The cost per connection of finding its target: what the proxy asks the inventory when a
// display connection opens (`get(id)`: the desktop read fresh from every hypervisor, the one
// where it runs), with a school's 6 hypervisors of 400 desktops each on libvirt's test driver
// (the real libvirt API, no daemon: libvirt's own cost, without a network). Prints and returns
// the figures; `node dist/bench/target-lookup.js [--smoke]` runs it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inventory } from '../inventory/inventory.js';
import { PROTOCOLS } from '../serve/protocols.js';
import { schoolDesktop, writeSchool } from './desktop-list.js';
import { percentile } from './percentile.js';

export interface TargetLookupFigures {
  hosts: number;
  desktops: number;
  lookups: number;
  p50Ms: number;
  p99Ms: number;
  /** Hypervisors asked per lookup (every one, once: the desktop may have moved to any of them). */
  hostReadsPerLookup: number;
}

export async function benchTargetLookup(options: { hosts: number; perHost: number; lookups: number }): Promise<TargetLookupFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-lookup-'));
  let calls = 0;
  const inventory = new Inventory(writeSchool(dir, options.hosts, options.perHost), PROTOCOLS, undefined, () => calls++);
  try {
    const desktops = options.hosts * options.perHost;
    // Warm: every connection open, as in a gateway that has served a list.
    await inventory.survey();
    const times: number[] = [];
    calls = 0;
    for (let i = 0; i < options.lookups; i++) {
      const id = schoolDesktop((i * 7919) % desktops); // spread over every host
      const t0 = performance.now();
      const desktop = await inventory.get(id);
      times.push(performance.now() - t0);
      if (desktop?.id !== id || desktop.displays.length === 0) throw new Error(`desktop ${id} not found with its display`);
    }
    return {
      hosts: options.hosts,
      desktops,
      lookups: options.lookups,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      hostReadsPerLookup: calls / options.lookups,
    };
  } finally {
    await inventory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  console.log(
    JSON.stringify(
      await benchTargetLookup(smoke ? { hosts: 2, perHost: 20, lookups: 50 } : { hosts: 6, perHost: 400, lookups: 1000 }),
      null,
      2,
    ),
  );
}
