// Whether this process can serve: 200, or 503 with the reason while it drains or cannot reach
// its shared state, so that a load balancer stops sending it new users.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer } from '../../contract/api/errors.js';
import { Health } from '../../contract/api/health.js';
import type { Availability } from '../../contract/availability.js';

export const healthRoutes: FastifyPluginAsyncTypebox<{ availability: Availability }> = async (app, { availability }) => {
  app.get(
    '/healthz',
    {
      schema: { response: { 200: Health, 503: ErrorAnswer } },
    },
    async (_request, reply) => {
      const refusal = availability.refusal();
      if (refusal) return reply.code(503).send({ error: refusal });
      return { status: 'ok' };
    },
  );
};
