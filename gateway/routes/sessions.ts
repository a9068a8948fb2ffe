// Live sessions, for helpdesk and admin.
import type { FastifyPluginAsync } from 'fastify';
import { CloseCode } from '../../proxy/close.js';
import type { LiveSessions } from '../../proxy/live-sessions.js';
import { requireUser } from '../http/authentication.js';
import { errorSchema } from '../http/schemas.js';


export interface SessionRoutesOptions {
  sessions: LiveSessions;
  /** Who is watching a session (helpdesk shadowing). */
  watchers: (sessionId: string) => string[];
}

export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (app, { sessions, watchers }) => {
  app.get('/api/sessions', {
    onRequest: requireUser('helpdesk', 'admin'),
    schema: {
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' }, user: { type: 'string' }, desktop: { type: 'string' }, protocol: { type: 'string' },
              startedAt: { type: 'string' }, watchers: { type: 'array', items: { type: 'string' } },
            },
            required: ['id', 'user', 'desktop', 'protocol', 'startedAt', 'watchers'],
          },
        },
        401: errorSchema, 403: errorSchema,
      },
    },
  }, async () => sessions.list()
    .filter((s) => !s.shadow) // a watcher's connection is not a session of its own
    .map((s) => ({ ...s, watchers: watchers(s.id) })));

  app.delete<{ Params: { id: string } }>('/api/sessions/:id', {
    onRequest: requireUser('admin'),
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema, 404: errorSchema },
    },
  }, async (request, reply) => {
    const session = sessions.get(request.params.id);
    if (!session) return reply.code(404).send({ error: 'There is no such session (it may have ended already).' });
    session.end(CloseCode.endedByAdmin, 'An administrator ended this session.');
    request.log.info({ admin: request.principal!.username, session: session.id, user: session.claims.sub }, 'session ended by admin');
    return reply.code(204).send();
  });
};
