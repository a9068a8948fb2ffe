// Administering a user: revoking (every sign-in ends and every live connection closes at once: a
// lost laptop, a left student, a compromised account) and lifting a sign-in lockout (the person
// called, and it was them mistyping).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { Revocation, UserNameParams } from '../../contract/api/sessions.js';
import { CloseCode } from '../../contract/close-codes.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import type { AuditLog } from '../audit-log.js';
import { requireUser } from '../http/authentication.js';
import type { LockoutStore } from '../sign-in-lockout.js';
import type { SignInStore } from '../sign-in-sessions.js';

export interface UserRoutesOptions {
  signIns: SignInStore;
  sessions: LiveSessionDirectory;
  lockout: LockoutStore;
  audit: AuditLog;
}

export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, { signIns, sessions, lockout, audit }) => {
  app.delete(
    '/api/users/:name/sessions',
    {
      onRequest: requireUser('admin'),
      schema: { params: UserNameParams, response: { 200: Revocation, 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async (request) => {
      const { name } = request.params;
      const ended = {
        signIns: await signIns.deleteUser(name),
        displaySessions: await sessions.endWhere({ user: name }, CloseCode.endedByAdmin, 'An administrator ended your sessions.'),
      };
      request.log.info({ admin: request.principal!.username, user: name, ...ended }, 'user revoked');
      audit.record({ event: 'user.revoked', admin: request.principal!.username, user: name, ...ended });
      return ended;
    },
  );

  app.delete(
    '/api/users/:name/lockout',
    {
      onRequest: requireUser('admin'),
      schema: { params: UserNameParams, response: { 204: NoContent, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer } },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!(await lockout.unlock(name))) return reply.code(404).send({ error: 'This user name is not locked.' });
      const admin = request.principal!.username;
      audit.record({ event: 'sign-in.unlocked', admin, user: name });
      request.log.info({ admin, user: name }, 'sign-in unlocked');
      return reply.code(204).send(null);
    },
  );
};
