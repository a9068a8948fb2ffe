// The users as administrators see them: local users, and directory users who signed in lately
// (the directory is not listed: a school's may hold thousands who never use Porthole), each with
// their recent sign-ins from the audit trail's sign-in index (not a read of the whole trail) and
// their live sessions. Ending them all is
// `DELETE /api/users/{name}/sessions` (routes/users.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UserSummary } from '../../contract/api/admin.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import type { AuditLog } from '../audit-log.js';
import { SIGN_IN_WINDOW_DAYS } from '../audit-sign-ins.js';
import { requireUser } from '../http/authentication.js';
import type { UserStore } from '../users.js';

const SIGN_INS_SHOWN = 5;

export interface UserListOptions {
  users: UserStore;
  audit: AuditLog;
  sessions: LiveSessionDirectory;
}

export const userListRoutes: FastifyPluginAsyncTypebox<UserListOptions> = async (app, { users, audit, sessions }) => {
  app.get(
    '/api/users',
    {
      onRequest: requireUser('admin'),
      schema: { response: { 200: Type.Array(UserSummary), 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async () => {
      const signIns = await audit.signIns(new Date(Date.now() - SIGN_IN_WINDOW_DAYS * 86_400_000), SIGN_INS_SHOWN);
      const live = new Map<string, number>();
      for (const s of await sessions.list()) if (!s.shadow) live.set(s.user, (live.get(s.user) ?? 0) + 1);
      const local = await users.list();
      const localNames = new Set(local.map((u) => u.username));
      const summary = (name: string, source: 'local' | 'directory', roles: string[], groups: string[]): UserSummary => {
        const seen = signIns.get(name);
        return {
          name,
          source,
          roles,
          groups,
          signIns: seen?.last ?? [],
          signInCount: seen?.count ?? 0,
          liveSessions: live.get(name) ?? 0,
        };
      };
      return [
        ...local.map((u) => summary(u.username, 'local', u.roles, u.groups)),
        ...[...signIns.keys()]
          .filter((name) => !localNames.has(name))
          .sort()
          .map((name) => summary(name, 'directory', [], [])),
      ];
    },
  );
};
