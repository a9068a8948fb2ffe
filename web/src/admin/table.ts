// Building the console's tables: text only (names come from libvirt, the directory and the
// audit trail, so nothing is ever parsed as HTML), and the few formats the tables share.

export function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function row(dataset: Record<string, string>, ...cells: HTMLTableCellElement[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  Object.assign(tr.dataset, dataset);
  tr.append(...cells);
  return tr;
}

/** A cell holding elements (buttons, links). */
export function actions(...children: Array<HTMLElement | string>): HTMLTableCellElement {
  const td = document.createElement('td');
  td.className = 'actions';
  td.append(...children);
  return td;
}

export function button(label: string, className: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

export function link(label: string, href: string, className = ''): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  if (className) a.className = className;
  return a;
}

/** A coloured word: `ok`, `bad` or `muted`. */
export function badge(text: string, tone: 'ok' | 'bad' | 'muted'): HTMLTableCellElement {
  const td = document.createElement('td');
  const span = document.createElement('span');
  span.className = `badge badge-${tone}`;
  span.textContent = text;
  td.append(span);
  return td;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** A time as this browser's locale writes it; today's without the date. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return t.toDateString() === new Date().toDateString() ? t.toLocaleTimeString() : t.toLocaleString();
}

/** How long ago, in words (sessions: "since 12 min"). */
export function since(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d`;
}

/**
 * Replaces a table body's rows. Each cell is labelled with its column's heading (a phone shows
 * rows as cards, the label beside each value); with `empty` given and no rows, the message
 * shows instead of the table.
 */
export function fill(body: HTMLElement, rows: HTMLTableRowElement[], empty?: HTMLElement): void {
  const table = body.closest('table')!;
  const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent ?? '');
  for (const tr of rows) [...tr.cells].forEach((td, i) => (td.dataset.label = headings[i] ?? ''));
  body.replaceChildren(...rows);
  if (empty) {
    empty.hidden = rows.length > 0;
    table.closest<HTMLElement>('.table-scroll')!.hidden = rows.length === 0;
  }
}
