// Live sessions, for helpdesk and admin.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { LiveSessionSummary, SessionIdParams } from '../../contract/api/sessions.js';
import { CloseCode } from '../../contract/close-codes.js';
import type { AuditTrail } from '../../contract/audit.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import { requireUser } from '../http/authentication.js';

export interface SessionRoutesOptions {
  sessions: LiveSessionDirectory;
  /** Who is watching a session (helpdesk shadowing). */
  watchers: (sessionId: string) => Promise<string[]>;
  audit: AuditTrail;
}

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, { sessions, watchers, audit }) => {
  app.get(
    '/api/sessions',
    {
      onRequest: requireUser('helpdesk', 'admin'),
      schema: { response: { 200: Type.Array(LiveSessionSummary), 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async () =>
      Promise.all(
        (await sessions.list())
          .filter((s) => !s.shadow) // a watcher's connection is not a session of its own
          .map(async (s) => ({ ...s, watchers: await watchers(s.id) })),
      ),
  );

  app.delete(
    '/api/sessions/:id',
    {
      onRequest: requireUser('admin'),
      schema: { params: SessionIdParams, response: { 204: NoContent, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer } },
    },
    async (request, reply) => {
      const session = await sessions.get(request.params.id);
      if (!session) return reply.code(404).send({ error: 'There is no such session (it may have ended already).' });
      await session.end(CloseCode.endedByAdmin, 'An administrator ended this session.');
      request.log.info({ admin: request.principal!.username, session: session.id, user: session.claims.sub }, 'session ended by admin');
      audit.record({
        event: 'session.ended',
        admin: request.principal!.username,
        user: session.claims.sub,
        desktop: session.claims.desktop,
        protocol: session.claims.protocol,
        session: session.id,
      });
      return reply.code(204).send(null);
    },
  );
};
