// Live sessions on every node: who, which desktop, over what, since when, how many bytes, who
// watches; "End" (after a confirmation) closes the session and its viewer says an administrator
// ended it. "Watch" opens the helpdesk page at the session, where asking its user starts.
import { PROTOCOL_CLIENTS, protocolLabel } from '../protocols.js';
import { adminApi, type DesktopSummary, type LiveSessionSummary } from './admin-api.js';
import { confirmAction } from './confirm.js';
import { actions, button, bytes, cell, fill, link, row, since } from './table.js';

const WATCHING = new Set(PROTOCOL_CLIENTS.filter((c) => c.descriptor.watching).map((c) => c.descriptor.id));
/** Sessions ended from this page: gone from the table at once, though a node may list them a moment longer while they close. */
const ended = new Set<string>();

/**
 * The host, which is what an operator draining one needs; the whole process name is the tooltip.
 * A lone process (no shared state) names none, and the column stays hidden.
 */
function nodeCell(node: string | undefined, shown: boolean): HTMLTableCellElement {
  const td = cell(node?.split(':')[0] ?? '—');
  if (node) td.title = node;
  td.hidden = !shown;
  return td;
}

export function sessionRows(
  sessions: LiveSessionSummary[],
  desktops: Map<string, DesktopSummary>,
  report: (message: string) => void,
  reload: () => void,
): void {
  const clustered = sessions.some((s) => s.node !== undefined);
  document.getElementById('node-column')!.hidden = !clustered;
  const rows = sessions
    .filter((s) => !ended.has(s.id))
    .map((s) => {
      const desktop = desktops.get(s.desktop);
      const name = desktop?.name ?? s.desktop;
      const end = button('End', 'danger end-session', () => {
        void (async () => {
          const sure = await confirmAction(
            `End ${s.user}'s session?`,
            `${s.user}'s ${protocolLabel(s.protocol)} connection to ${name} closes now; their viewer says an administrator ended it. They can open the desktop again.`,
            'End session',
          );
          if (!sure) return;
          end.disabled = true;
          try {
            await adminApi.endSession(s.id);
            ended.add(s.id);
            report(`Ended ${s.user}'s session on ${name}.`);
          } catch (error) {
            report((error as Error).message);
          }
          reload();
        })();
      });
      const watchable = desktop?.protocols.some((p) => WATCHING.has(p)) ?? false;
      return row(
        { sessionId: s.id, user: s.user },
        cell(s.user, 'strong'),
        cell(name),
        cell(protocolLabel(s.protocol)),
        cell(since(s.startedAt)),
        cell(`${bytes(s.bytesToClient)} / ${bytes(s.bytesToDisplay)}`, 'number'),
        cell(s.watchers.join(', ') || '—'),
        nodeCell(s.node, clustered),
        actions(...(watchable ? [link('Watch…', `/helpdesk.html#session=${encodeURIComponent(s.id)}`, 'watch'), ' '] : []), end),
      );
    });
  fill(document.getElementById('session-rows')!, rows, document.getElementById('sessions-empty')!);
}
