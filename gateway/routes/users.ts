// Administering a user: revoking (every sign-in ends and every live connection closes at once: a
// lost laptop, a left student, a compromised account) and lifting a sign-in lockout (the person
// called, and it was them mistyping).
import type { FastifyPluginAsync } from 'fastify';
import { CloseCode } from '../../proxy/close.js';
import type { LiveSessions } from '../../proxy/live-sessions.js';
import type { AuditLog } from '../audit-log.js';
import { requireUser } from '../http/authentication.js';
import { errorSchema } from '../http/schemas.js';
import type { SignInLockout } from '../sign-in-lockout.js';
import type { SignInSessions } from '../sign-in-sessions.js';

export interface UserRoutesOptions {
  signIns: SignInSessions;
  sessions: LiveSessions;
  lockout: SignInLockout;
  audit: AuditLog;
}

const nameParams = { type: 'object', properties: { name: { type: 'string', maxLength: 64 } }, required: ['name'] } as const;

export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, { signIns, sessions, lockout, audit }) => {
  app.delete<{ Params: { name: string } }>('/api/users/:name/sessions', {
    onRequest: requireUser('admin'),
    schema: {
      params: nameParams,
      response: {
        200: { type: 'object', properties: { signIns: { type: 'integer' }, displaySessions: { type: 'integer' } }, required: ['signIns', 'displaySessions'] },
        401: errorSchema, 403: errorSchema,
      },
    },
  }, async (request) => {
    const { name } = request.params;
    const ended = {
      signIns: signIns.deleteUser(name),
      displaySessions: sessions.endWhere((claims) => claims.sub === name, CloseCode.endedByAdmin, 'An administrator ended your sessions.'),
    };
    request.log.info({ admin: request.principal!.username, user: name, ...ended }, 'user revoked');
    return ended;
  });

  app.delete<{ Params: { name: string } }>('/api/users/:name/lockout', {
    onRequest: requireUser('admin'),
    schema: { params: nameParams, response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema, 404: errorSchema } },
  }, async (request, reply) => {
    const { name } = request.params;
    if (!lockout.unlock(name)) return reply.code(404).send({ error: 'This user name is not locked.' });
    const admin = request.principal!.username;
    audit.record({ event: 'sign-in.unlocked', admin, user: name });
    request.log.info({ admin, user: name }, 'sign-in unlocked');
    return reply.code(204).send();
  });
};
