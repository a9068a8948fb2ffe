// Revoking a user: every sign-in ends and every live connection closes at once (a lost laptop,
// a left student, a compromised account).
import type { FastifyPluginAsync } from 'fastify';
import { CloseCode } from '../../proxy/close.js';
import type { LiveSessions } from '../../proxy/live-sessions.js';
import { requireUser } from '../http/authentication.js';
import { errorSchema } from '../http/schemas.js';
import type { SignInSessions } from '../sign-in-sessions.js';

export const userRoutes: FastifyPluginAsync<{ signIns: SignInSessions; sessions: LiveSessions }> = async (app, { signIns, sessions }) => {
  app.delete<{ Params: { name: string } }>('/api/users/:name/sessions', {
    preHandler: requireUser('admin'),
    schema: {
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } }, required: ['name'] },
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
};
