// The desktops a user may open, and connect: the tokens for each protocol attempt.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Attempts, DesktopIdParams, DesktopList, connectBody } from '../../contract/api/desktops.js';
import { UNREACHABLE_HEADER } from '../../contract/api/headers.js';
import { ErrorAnswer } from '../../contract/api/errors.js';
import { normalizeIp } from '../../contract/client-address.js';
import { mayOpen, mayPower, protocolsOf, type Desktop } from '../../contract/desktop.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import type { ProtocolRegistry } from '../../contract/protocol.js';
import { openLimitReached, type Limits } from '../limits.js';
import { buildAttempt } from '../attempts.js';
import { requireUser } from '../http/authentication.js';
import { SESSION_COOKIE } from '../sign-in-sessions.js';
import type { TokenIssuer } from '../token-issuer.js';

/** Where desktops come from (the inventory). */
export interface DesktopSource {
  /** The desktops, and the hypervisors that could not be read (their desktops are missing). */
  survey(): Promise<{ desktops: Desktop[]; unreachable: string[] }>;
  get(id: string): Promise<Desktop | undefined>;
  /** Starts, reboots or shuts down a desktop where it is; resolves once libvirt accepted it. */
  power(desktop: Desktop, action: 'start' | 'reboot' | 'shutdown'): Promise<void>;
}

export interface DesktopRoutesOptions {
  desktops: DesktopSource;
  issuer: TokenIssuer;
  protocols: ProtocolRegistry;
  /** wss://host[:port] that browsers reach the proxy at. */
  webSocketOrigin: string;
  /** Open desktops per user and group, counted on the proxy's live sessions. */
  limits?: Limits | undefined;
  sessions?: LiveSessionDirectory | undefined;
}

export const desktopRoutes: FastifyPluginAsyncTypebox<DesktopRoutesOptions> = async (
  app,
  { desktops, issuer, protocols, webSocketOrigin, limits, sessions },
) => {
  app.get(
    '/api/desktops',
    {
      onRequest: requireUser(),
      schema: { response: { 200: DesktopList, 401: ErrorAnswer } },
    },
    async (request, reply) => {
      const who = request.principal!;
      const { desktops: found, unreachable } = await desktops.survey();
      // The list stays an array (the contract); which hosts could not be read travels beside it,
      // so the page can say that some desktops may be missing rather than hide them silently.
      if (unreachable.length > 0) void reply.header(UNREACHABLE_HEADER, unreachable.join(', '));
      // The response schema keeps display endpoints and passwords out of the answer.
      return found
        .filter((d) => mayOpen(d, who))
        .map((d) => ({
          id: d.id,
          name: d.name,
          hypervisor: d.hypervisor,
          state: d.state,
          protocols: protocolsOf(d, protocols.ids),
          power: mayPower(d, who),
        }));
    },
  );

  app.post(
    '/api/desktops/:id/connect',
    {
      onRequest: requireUser(),
      schema: {
        params: DesktopIdParams,
        body: connectBody(protocols.ids),
        response: {
          200: Attempts,
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
      if (!desktop) return reply.code(404).send({ error: 'There is no such desktop.' });
      if (!mayOpen(desktop, who)) return reply.code(403).send({ error: 'You may not open this desktop.' });
      if (desktop.state !== 'running') {
        return reply
          .code(409)
          .send({ error: `The desktop is not running (it is ${desktop.state}). Start it, or ask your administrator to.` });
      }
      const offered = protocolsOf(desktop, protocols.ids);
      const wanted = request.body.protocols ?? protocols.ids;
      const viewOnly = request.body.viewOnly ?? false;
      // View-only is enforced by the proxy only where it reads the protocol's input.
      const usable = wanted.filter((p) => offered.includes(p) && (!viewOnly || protocols.get(p)!.viewOnly));
      if (usable.length === 0) {
        const unfiltered = wanted.filter((p) => offered.includes(p));
        if (viewOnly && unfiltered.length > 0) {
          const watchable = protocols.descriptors
            .filter((d) => d.viewOnly)
            .map((d) => d.label)
            .join(' or ');
          return reply.code(409).send({
            error: `Watching without control is not available over ${unfiltered.map((p) => protocols.label(p)).join(', ')}; use ${watchable} for that.`,
          });
        }
        return reply.code(409).send({ error: `The desktop offers ${offered.join(', ') || 'no display'}, not ${wanted.join(', ')}.` });
      }
      if (limits && sessions) {
        // Awaited whether the sessions are this process's or shared (Redis): the same code.
        const reached = openLimitReached(limits, who, desktop.id, await sessions.list());
        if (reached) {
          request.log.info({ user: who.username, desktop: desktop.id }, 'connect refused: a limit is reached');
          return reply.code(429).send({ error: reached });
        }
      }
      const clientIp = normalizeIp(request.socket.remoteAddress);
      const attempts = usable.map((p) =>
        buildAttempt(issuer, webSocketOrigin, {
          who,
          desktop,
          descriptor: protocols.get(p)!,
          viewOnly,
          clientIp,
          browserSession: request.cookies[SESSION_COOKIE],
          requestId: request.id,
        }),
      );
      request.log.info({ user: who.username, desktop: desktop.id, protocols: usable }, 'connect tokens issued');
      return { attempts };
    },
  );
};
