// The audit trail, searched by administrators: by time, by user (as the one acting or acted on),
// by desktop; newest last, at most the newest 1,000 events. On Redis, every node's events; a Redis
// that cannot answer is a 503 with a sentence (the app's error answer for shared state).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuditEntry, AuditQuery } from '../../contract/api/audit.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import type { AuditLog } from '../audit-log.js';
import { requireUser } from '../http/authentication.js';

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditLog }> = async (app, { audit }) => {
  app.get(
    '/api/audit',
    {
      onRequest: requireUser('admin'),
      schema: { querystring: AuditQuery, response: { 200: Type.Array(AuditEntry), 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async (request) => {
      const { since, user, desktop } = request.query;
      return audit.search({
        ...(since !== undefined ? { since: new Date(since) } : {}),
        ...(user !== undefined ? { user } : {}),
        ...(desktop !== undefined ? { desktop } : {}),
      });
    },
  );
};
