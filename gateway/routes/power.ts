// Starting, rebooting and shutting down a desktop from the list or the viewer: its users and
// groups may where its metadata carries <porthole:power/>, admins always. Every action is in the
// audit trail; libvirt's refusals are told in words.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DesktopIdParams, PowerAccepted } from '../../contract/api/desktops.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import type { AuditTrail } from '../../contract/audit.js';
import { mayOpen, mayPower, type DesktopState } from '../../contract/desktop.js';
import { requireUser } from '../http/authentication.js';
import { runningLimitReached, type Limits } from '../limits.js';
import type { DesktopSource } from './desktops.js';

type Action = 'start' | 'reboot' | 'shutdown';

/** The states an action may start from, and what the desktop is doing once libvirt took it. */
const RULES: Record<Action, { from: readonly DesktopState[]; then: string; doing: string }> = {
  start: { from: ['shut off', 'crashed'], then: 'starting', doing: 'start' },
  reboot: { from: ['running'], then: 'rebooting', doing: 'restart' },
  shutdown: { from: ['running'], then: 'shutting down', doing: 'shut down' },
};

export const powerRoutes: FastifyPluginAsyncTypebox<{ desktops: DesktopSource; audit: AuditTrail; limits?: Limits | undefined }> = async (
  app,
  { desktops, audit, limits },
) => {
  for (const action of ['start', 'reboot', 'shutdown'] as const)
    app.post(
      `/api/desktops/:id/${action}`,
      {
        onRequest: requireUser(),
        schema: {
          params: DesktopIdParams,
          response: {
            202: PowerAccepted,
            401: ErrorAnswer,
            403: ErrorAnswer,
            404: ErrorAnswer,
            409: ErrorAnswer,
            429: ErrorAnswer,
            503: ErrorAnswer,
          },
        },
      },
      async (request, reply) => {
        const who = request.principal!;
        const desktop = await desktops.get(request.params.id); // an unreachable host: 503 (app.ts)
        if (!desktop || !mayOpen(desktop, who)) return reply.code(404).send({ error: 'There is no such desktop.' });
        if (!mayPower(desktop, who)) {
          return reply.code(403).send({ error: `You may not ${RULES[action].doing} this desktop yourself. Ask your administrator to.` });
        }
        const rule = RULES[action];
        if (!rule.from.includes(desktop.state)) {
          return reply.code(409).send({ error: `The desktop is ${desktop.state}: it cannot ${rule.doing} now.` });
        }
        const fields = { user: who.username, desktop: desktop.id, hypervisor: desktop.hypervisor, client: request.ip };
        if (action === 'start' && limits && (limits.runningDesktopsPerUser !== undefined || Object.keys(limits.groups).length > 0)) {
          const reached = runningLimitReached(limits, who, desktop, (await desktops.survey()).desktops);
          if (reached) {
            audit.record({ event: `power.${action}`, ...fields, result: 'refused', reason: reached });
            return reply.code(429).send({ error: reached });
          }
        }
        try {
          await desktops.power(desktop, action);
        } catch (error) {
          audit.record({ event: `power.${action}`, ...fields, result: 'refused', reason: (error as Error).message });
          request.log.warn({ ...fields, err: error }, `power ${action} refused by libvirt`);
          return reply.code(409).send({
            error: `The desktop's host did not ${rule.doing} it (${(error as Error).message}). Try again in a minute; if it goes on, tell your administrator.`,
          });
        }
        audit.record({ event: `power.${action}`, ...fields, result: 'accepted' });
        return reply.code(202).send({ state: rule.then });
      },
    );
};
