// Liveness and metrics for operators.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health } from '../../contract/api/health.js';
import type { Registry } from 'prom-client';

export const healthRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/healthz', {
    schema: { response: { 200: Health } },
  }, async () => ({ status: 'ok' }));

  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
};
