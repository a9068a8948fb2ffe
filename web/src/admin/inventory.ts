// The hypervisors' health and the desktops with their state, as the inventory reads them now.
import { protocolLabel } from '../protocols.js';
import type { DesktopSummary, HypervisorHealth, LiveSessionSummary } from './admin-api.js';
import { badge, cell, fill, row, when } from './table.js';

export function hypervisorRows(hypervisors: HypervisorHealth[]): void {
  fill(
    document.getElementById('hypervisor-rows')!,
    hypervisors.map((h) =>
      row(
        { hypervisor: h.name, reachable: String(h.reachable) },
        cell(h.name, 'strong'),
        cell(h.host),
        h.reachable ? badge('reachable', 'ok') : badge('unreachable', 'bad'),
        cell(h.reachable ? `${h.desktops} (${h.running})` : '—', 'number'),
        cell(h.lastError ? `${when(h.lastError.at)}: ${h.lastError.message}` : '—', 'wrap'),
      ),
    ),
  );
}

export function desktopRows(desktops: DesktopSummary[], sessions: LiveSessionSummary[]): void {
  const open = new Map<string, number>();
  for (const s of sessions) open.set(s.desktop, (open.get(s.desktop) ?? 0) + 1);
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
        cell(d.id, 'mono'),
      ),
    ),
  );
}
