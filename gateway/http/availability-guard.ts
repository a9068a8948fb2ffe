// New sign-ins and connections are refused with 503 and the reason while the process does not
// take new work (it drains, or cannot reach its shared state: it fails closed). Everything else
// goes on: the desktop list, signing out, ending a session, the live connections themselves.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Availability } from '../../contract/availability.js';

/** The calls that start something new: a sign-in, or tokens for a display connection. */
const NEW_WORK = new Set([
  'POST /api/login',
  'POST /api/desktops/:id/connect',
  'POST /api/sessions/:id/shadow',
  'GET /api/shadow/:requestId',
]);

const plugin: FastifyPluginAsync<{ availability: Availability }> = async (app, { availability }) => {
  app.addHook('onRequest', async (request, reply) => {
    if (!NEW_WORK.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
    const refusal = availability.refusal();
    if (refusal) return reply.code(503).header('retry-after', '5').send({ error: refusal });
  });
};

export const availabilityGuard = fp(plugin, { name: 'availability-guard' });
