// The desktops a user may open, and connect: the tokens for each protocol attempt.
import type { FastifyPluginAsync } from 'fastify';
import { PROTOCOLS, endpointAddress, mayOpen, protocolsOf, type Desktop, type Protocol } from '../../inventory/desktop.js';
import { normalizeIp } from '../../proxy/token-verifier.js';
import { SESSION_COOKIE } from '../sign-in-sessions.js';
import { requireUser } from '../http/authentication.js';
import type { TokenIssuer } from '../token-issuer.js';
import { attemptSchema, errorSchema } from '../http/schemas.js';

/** Where desktops come from (the inventory). */
/** Names the hypervisors whose desktops are missing from a list because they could not be read. */
export const UNREACHABLE_HEADER = 'porthole-unreachable-hypervisors';

export interface DesktopSource {
  /** The desktops, and the hypervisors that could not be read (their desktops are missing). */
  survey(): Promise<{ desktops: Desktop[]; unreachable: string[] }>;
  get(id: string): Promise<Desktop | undefined>;
}

export interface DesktopRoutesOptions {
  desktops: DesktopSource;
  issuer: TokenIssuer;
  /** wss://host[:port] that browsers reach the proxy at. */
  webSocketOrigin: string;
}


export const desktopRoutes: FastifyPluginAsync<DesktopRoutesOptions> = async (app, { desktops, issuer, webSocketOrigin }) => {
  app.get('/api/desktops', {
    onRequest: requireUser(),
    schema: {
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' }, name: { type: 'string' }, hypervisor: { type: 'string' }, state: { type: 'string' },
              protocols: { type: 'array', items: { type: 'string' } },
            },
            required: ['id', 'name', 'hypervisor', 'state', 'protocols'],
          },
        },
        401: errorSchema,
      },
    },
  }, async (request, reply) => {
    const who = request.principal!;
    const { desktops: found, unreachable } = await desktops.survey();
    // The list stays an array (the contract); which hosts could not be read travels beside it,
    // so the page can say that some desktops may be missing rather than hide them silently.
    if (unreachable.length > 0) void reply.header(UNREACHABLE_HEADER, unreachable.join(', '));
    // The response schema keeps display endpoints and passwords out of the answer.
    return found
      .filter((d) => mayOpen(d, who))
      .map((d) => ({ id: d.id, name: d.name, hypervisor: d.hypervisor, state: d.state, protocols: protocolsOf(d) }));
  });

  app.post<{ Params: { id: string }; Body: { protocols?: Protocol[]; viewOnly?: boolean } }>('/api/desktops/:id/connect', {
    onRequest: requireUser(),
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      body: {
        type: 'object',
        properties: {
          protocols: { type: 'array', items: { type: 'string', enum: [...PROTOCOLS] }, minItems: 1, maxItems: 3, uniqueItems: true },
          viewOnly: { type: 'boolean' },
        },
        additionalProperties: false,
      },
      response: {
        200: { type: 'object', properties: { attempts: { type: 'array', items: attemptSchema } }, required: ['attempts'] },
        401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema,
      },
    },
  }, async (request, reply) => {
    const who = request.principal!;
    const desktop = await desktops.get(request.params.id); // an unreachable host: 503 (app.ts)
    if (!desktop) return reply.code(404).send({ error: 'There is no such desktop.' });
    if (!mayOpen(desktop, who)) return reply.code(403).send({ error: 'You may not open this desktop.' });
    if (desktop.state !== 'running') {
      return reply.code(409).send({ error: `The desktop is not running (it is ${desktop.state}). Start it, or ask your administrator to.` });
    }
    const offered = protocolsOf(desktop);
    const wanted = request.body.protocols ?? [...PROTOCOLS];
    const viewOnly = request.body.viewOnly ?? false;
    // The proxy enforces view-only by reading SPICE and VNC input; RDP's input is not filtered.
    const protocols = wanted.filter((p) => offered.includes(p) && !(viewOnly && p === 'rdp'));
    if (protocols.length === 0) {
      if (viewOnly && wanted.includes('rdp') && offered.includes('rdp')) {
        return reply.code(409).send({ error: 'Watching without control is not available over RDP; use SPICE or VNC for that.' });
      }
      return reply.code(409).send({ error: `The desktop offers ${offered.join(', ') || 'no display'}, not ${wanted.join(', ')}.` });
    }
    const clientIp = normalizeIp(request.socket.remoteAddress);
    const attempts = protocols.map((protocol) => {
      const issued = issuer.issue(who, desktop.id, protocol, {
        viewOnly,
        clientIp,
        browserSession: request.cookies[SESSION_COOKIE],
      });
      const attempt = { protocol, token: issued.token, expiresAt: issued.expiresAt.toISOString() };
      if (protocol !== 'rdp') return { ...attempt, url: `${webSocketOrigin}/ws/${protocol}?token=${encodeURIComponent(issued.token)}` };
      // RDP's web client sends its token inside the RDCleanPath request instead of the URL.
      return { ...attempt, url: `${webSocketOrigin}/ws/rdp`, destination: endpointAddress(desktop.displays.find((d) => d.protocol === 'rdp')!) };
    });
    request.log.info({ user: who.username, desktop: desktop.id, protocols }, 'connect tokens issued');
    return { attempts };
  });
};
