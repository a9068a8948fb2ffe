// The hypervisors' health for administrators: each one asked now (reachable, how many desktops,
// how many running) with the last error Porthole met on it.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HypervisorHealth } from '../../contract/api/admin.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import { requireUser } from '../http/authentication.js';

/** Where hypervisors' health comes from (the inventory). */
export interface HypervisorHealthSource {
  health(): Promise<
    Array<{ name: string; host: string; reachable: boolean; domains: number; running: number; lastError?: { at: Date; message: string } }>
  >;
}

export const hypervisorRoutes: FastifyPluginAsyncTypebox<{ hypervisors: HypervisorHealthSource }> = async (app, { hypervisors }) => {
  app.get(
    '/api/hypervisors',
    {
      onRequest: requireUser('admin'),
      schema: { response: { 200: Type.Array(HypervisorHealth), 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async () =>
      (await hypervisors.health()).map((h) => ({
        name: h.name,
        host: h.host,
        reachable: h.reachable,
        desktops: h.domains,
        running: h.running,
        ...(h.lastError ? { lastError: { at: h.lastError.at.toISOString(), message: h.lastError.message } } : {}),
      })),
  );
};
