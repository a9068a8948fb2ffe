// The audit trail, searched by time, user and desktop (GET /api/audit): the newest first on
// screen, each event's own fields beside the common ones.
import { adminApi, type AuditEntry, type DesktopSummary } from './admin-api.js';
import { cell, fill, row, when } from './table.js';

const COMMON = new Set(['at', 'event', 'user', 'desktop', 'client']);
const form = document.getElementById('audit-filter') as HTMLFormElement;
const status = document.getElementById('audit-status')!;
const input = (id: string) => (document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value.trim();
const desktopChoice = document.getElementById('audit-desktop') as HTMLSelectElement;
/** Desktop names by id, to show names where the trail has ids. */
let names = new Map<string, string>();

/** The desktops the filter offers (and the names the table shows), keeping the one chosen. */
export function offerDesktops(desktops: DesktopSummary[]): void {
  names = new Map(desktops.map((d) => [d.id, d.name]));
  const chosen = desktopChoice.value;
  const any = desktopChoice.options[0]!;
  desktopChoice.replaceChildren(
    any,
    ...desktops.map((d) => {
      const option = document.createElement('option');
      option.value = d.id;
      option.textContent = d.name;
      return option;
    }),
  );
  desktopChoice.value = names.has(chosen) ? chosen : '';
}

function details(e: AuditEntry): string {
  return Object.entries(e)
    .filter(([k, v]) => !COMMON.has(k) && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

export async function searchAudit(): Promise<void> {
  const sinceLocal = input('audit-since');
  const query = {
    ...(sinceLocal ? { since: new Date(sinceLocal).toISOString() } : {}),
    user: input('audit-user'),
    desktop: input('audit-desktop'),
  };
  let events: AuditEntry[];
  try {
    events = await adminApi.audit(query);
  } catch (error) {
    status.textContent = (error as Error).message;
    return;
  }
  status.textContent = events.length === 0 ? 'No event matches.' : `${events.length} event(s), the newest first.`;
  fill(
    document.getElementById('audit-rows')!,
    events
      .slice()
      .reverse()
      .map((e) =>
        row(
          { event: e.event },
          cell(when(e.at), 'nowrap'),
          cell(e.event, 'mono'),
          cell(e.user ?? '—'),
          cell(e.desktop ? (names.get(e.desktop) ?? e.desktop) : '—'),
          cell(e.client ?? '—'),
          cell(details(e), 'wrap'),
        ),
      ),
  );
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void searchAudit();
});
