// Users: local ones and directory users seen signing in, with their sign-ins and open sessions.
// "End all" (after a confirmation) signs them out of every browser and closes their desktops.
import { adminApi, type UserSummary } from './admin-api.js';
import { confirmAction } from './confirm.js';
import { actions, button, cell, fill, row, when } from './table.js';

export function userRows(users: UserSummary[], report: (message: string) => void, reload: () => void): void {
  const rows = users.map((u) => {
    const last = u.signIns.at(-1);
    const endAll = button('End all', 'danger end-user', () => {
      void (async () => {
        const sure = await confirmAction(
          `End everything of ${u.name}'s?`,
          `${u.name} is signed out of every browser and every desktop they have open closes. They can sign in again unless their account is also disabled.`,
          'End all',
        );
        if (!sure) return;
        endAll.disabled = true;
        try {
          const ended = await adminApi.endUser(u.name);
          report(`${u.name}: ${ended.signIns} sign-in(s) and ${ended.displaySessions} session(s) ended.`);
        } catch (error) {
          report((error as Error).message);
        }
        reload();
      })();
    });
    const roles = [...u.roles, ...u.groups.map((g) => `group ${g}`)];
    return row(
      { user: u.name },
      cell(u.name, 'strong'),
      cell(u.source === 'local' ? 'local' : 'directory'),
      cell(roles.join(', ') || (u.source === 'directory' ? 'from the directory' : '—')),
      cell(String(u.signInCount), 'number'),
      cell(last ? `${when(last.at)}${last.client ? ` from ${last.client}` : ''}` : 'never'),
      cell(String(u.liveSessions), 'number'),
      actions(endAll),
    );
  });
  fill(document.getElementById('user-rows')!, rows);
}
