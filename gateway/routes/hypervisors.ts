// The hypervisors' health for administrators: each one connected, reconnecting or down since
// when (with libvirt's reason), its desktops as the lists read them, and the last error Porthole
// met on it; and the running desktops' figures (CPU, memory, network, disk).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DesktopFigures, HypervisorHealth } from '../../contract/api/admin.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import type { DesktopFigures as Figures } from '../../inventory/desktop-figures.js';
import type { HypervisorStatus } from '../../inventory/inventory.js';
import { requireUser } from '../http/authentication.js';

/** Where hypervisors' health and the desktops' figures come from (the inventory). */
export interface HypervisorHealthSource {
  health(): Promise<HypervisorStatus[]>;
  figures(): Promise<Figures[]>;
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
        state: h.state,
        since: h.since.toISOString(),
        ...(h.reason !== undefined ? { reason: h.reason } : {}),
        reachable: h.reachable,
        desktops: h.domains,
        running: h.running,
        ...(h.lastError ? { lastError: { at: h.lastError.at.toISOString(), message: h.lastError.message } } : {}),
      })),
  );

  app.get(
    '/api/desktops/figures',
    {
      onRequest: requireUser('admin'),
      schema: { response: { 200: Type.Array(DesktopFigures), 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async () => (await hypervisors.figures()).map((f) => ({ ...f, at: f.at.toISOString() })),
  );
};
