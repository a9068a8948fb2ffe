// The helpdesk page: live sessions, and asking a user to let you watch. Once they allow it, the
// viewer opens on their screen, view-only (the proxy enforces it).
import { api, ApiError, type LiveSession } from './api.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rows = $('session-rows');
const status = $('helpdesk-status');
const POLL_MS = 1000;
/** The list follows sessions that start and end, without a reload. */
const REFRESH_MS = 5000;
/** Requests waiting for their answer: the table stays as it is meanwhile. */
let asking = 0;
/** What the table shows now, to rebuild it only when that changed (a row under the pointer stays put). */
let shown = '';

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

async function ask(session: LiveSession, control: boolean, stateCell: HTMLElement, buttons: HTMLButtonElement[]): Promise<void> {
  for (const b of buttons) b.disabled = true;
  asking++;
  try {
    const { requestId } = await api.askToWatch(session.id, control);
    stateCell.textContent = `Waiting for ${session.user} to answer…`;
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const { state } = await api.shadow(requestId);
      if (state === 'accepted') {
        location.href = `/viewer.html?shadow=${encodeURIComponent(requestId)}`;
        return;
      }
      if (state !== 'pending') {
        stateCell.textContent =
          state === 'refused'
            ? `${session.user} did not allow it.`
            : `${session.user} did not answer within 2 minutes, or their session ended. You can ask again.`;
        for (const b of buttons) b.disabled = false;
        return;
      }
    }
  } catch (error) {
    stateCell.textContent = (error as Error).message;
    for (const b of buttons) b.disabled = false;
  } finally {
    asking--;
  }
}

async function load(): Promise<void> {
  let sessions: LiveSession[];
  try {
    sessions = await api.sessions();
  } catch (error) {
    status.textContent = error instanceof ApiError && error.status === 401 ? 'Please sign in first.' : (error as Error).message;
    return;
  }
  status.textContent = sessions.length === 0 ? 'Nobody is connected right now.' : '';
  const now = JSON.stringify(sessions.map((s) => [s.id, s.watchers]));
  if (now === shown) return;
  shown = now;
  rows.replaceChildren(
    ...sessions.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.sessionId = s.id;
      tr.dataset.user = s.user;
      // The admin console's "Watch…" links here with the session picked (#session=ID).
      tr.classList.toggle('picked', location.hash === `#session=${encodeURIComponent(s.id)}`);
      const stateCell = cell('');
      stateCell.className = 'ask-state';
      const watch = document.createElement('button');
      watch.type = 'button';
      watch.className = 'ask';
      watch.textContent = 'Ask to watch';
      const control = document.createElement('button');
      control.type = 'button';
      control.className = 'ask-control';
      control.textContent = 'Ask for control';
      watch.addEventListener('click', () => void ask(s, false, stateCell, [watch, control]));
      control.addEventListener('click', () => void ask(s, true, stateCell, [watch, control]));
      const action = document.createElement('td');
      action.append(watch, ' ', control, ' ', stateCell);
      tr.append(
        cell(s.user),
        cell(s.desktop),
        cell(s.protocol.toUpperCase()),
        cell(new Date(s.startedAt).toLocaleTimeString()),
        cell(s.watchers.join(', ') || '—'),
        action,
      );
      return tr;
    }),
  );
}

void load();
setInterval(() => {
  if (asking === 0 && !document.hidden) void load();
}, REFRESH_MS);
