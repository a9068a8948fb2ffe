// The hypervisors' health (connected, reconnecting or down since when, and why) and the desktops
// with their state and, while running, their CPU, memory, network and disk figures.
import { protocolLabel } from '../protocols.js';
import type { DesktopFigures, DesktopSummary, HypervisorHealth, LiveSessionSummary } from './admin-api.js';
import { badge, bytes, cell, fill, row, when } from './table.js';

const TONE = { connected: 'ok', reconnecting: 'muted', down: 'bad' } as const;

/** A rate in bytes per second, as "1.2 MB/s"; none yet (one reading so far): a dash. */
function perSecond(n: number | undefined): string {
  return n === undefined ? '—' : `${bytes(Math.round(n))}/s`;
}

export function hypervisorRows(hypervisors: HypervisorHealth[]): void {
  fill(
    document.getElementById('hypervisor-rows')!,
    hypervisors.map((h) =>
      row(
        { hypervisor: h.name, reachable: String(h.reachable), state: h.state },
        cell(h.name, 'strong'),
        cell(h.host),
        badge(h.state, TONE[h.state]),
        cell(h.reason ? `${when(h.since)}: ${h.reason}` : when(h.since), 'wrap'),
        cell(h.reachable ? `${h.desktops} (${h.running})` : '—', 'number'),
        cell(h.lastError ? `${when(h.lastError.at)}: ${h.lastError.message}` : '—', 'wrap'),
      ),
    ),
  );
}

export function desktopRows(desktops: DesktopSummary[], sessions: LiveSessionSummary[], figures: DesktopFigures[]): void {
  const open = new Map<string, number>();
  for (const s of sessions) open.set(s.desktop, (open.get(s.desktop) ?? 0) + 1);
  const figuresOf = new Map(figures.map((f) => [f.id, f]));
  fill(
    document.getElementById('desktop-rows')!,
    desktops.map((d) =>
      row(
        { desktopId: d.id, state: d.state },
        cell(d.name, 'strong'),
        d.state === 'running' ? badge(d.state, 'ok') : badge(d.state, d.state === 'crashed' ? 'bad' : 'muted'),
        cell(d.hypervisor),
        cell(d.protocols.map(protocolLabel).join(' · ') || 'no display'),
        cell(String(open.get(d.id) ?? 0), 'number'),
        ...figureCells(d.state === 'running' ? figuresOf.get(d.id) : undefined),
        cell(d.id, 'mono'),
      ),
    ),
  );
}

/** CPU, memory, network and disk of a running desktop (dashes where libvirt has not told yet). */
function figureCells(f: DesktopFigures | undefined): HTMLTableCellElement[] {
  const memory = f?.memoryBytes ?? f?.residentBytes;
  return [
    cell(f?.cpu === undefined ? '—' : `${(f.cpu * 100).toFixed(f.cpu < 0.1 ? 1 : 0)} %`, 'number'),
    cell(memory === undefined ? '—' : bytes(memory), 'number'),
    cell(f ? `${perSecond(f.netRxBytesPerSecond)} / ${perSecond(f.netTxBytesPerSecond)}` : '—', 'number'),
    cell(f ? `${perSecond(f.diskReadBytesPerSecond)} / ${perSecond(f.diskWriteBytesPerSecond)}` : '—', 'number'),
  ];
}
