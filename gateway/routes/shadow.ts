// Helpdesk shadowing over HTTP: ask (helpdesk), answer (the session's user, from their viewer),
// poll (the asker), end (either). Nothing is watched without the user's yes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { protocolsOf } from '../../inventory/desktop.js';
import type { LiveSessions } from '../../proxy/live-sessions.js';
import { normalizeIp } from '../../proxy/token-verifier.js';
import { attemptSchema, errorSchema } from '../http/schemas.js';
import { requireUser } from '../http/authentication.js';
import type { ShadowRequest, ShadowRequests } from '../shadowing.js';
import { SESSION_COOKIE } from '../sign-in-sessions.js';
import type { TokenIssuer } from '../token-issuer.js';
import type { DesktopSource } from './desktops.js';

export interface ShadowRoutesOptions {
  shadows: ShadowRequests;
  sessions: LiveSessions;
  desktops: DesktopSource;
  issuer: TokenIssuer;
  webSocketOrigin: string;
}

const requestIdParams = { type: 'object', properties: { requestId: { type: 'string', maxLength: 64 } }, required: ['requestId'] } as const;
const NOT_FOUND = 'There is no such screen-sharing request.';

export const shadowRoutes: FastifyPluginAsync<ShadowRoutesOptions> = async (app, { shadows, sessions, desktops, issuer, webSocketOrigin }) => {
  /** The request, if the caller is one of its parties; 404 otherwise (its existence is not revealed). */
  function party(request: FastifyRequest<{ Params: { requestId: string } }>, reply: FastifyReply, who: Array<'asker' | 'user'>): ShadowRequest | undefined {
    const found = shadows.get(request.params.requestId);
    const me = request.principal!.username;
    if (!found || !who.some((w) => found[w] === me)) {
      void reply.code(404).send({ error: NOT_FOUND });
      return undefined;
    }
    return found;
  }

  app.post<{ Params: { id: string }; Body: { control?: boolean } }>('/api/sessions/:id/shadow', {
    onRequest: requireUser('helpdesk', 'admin'),
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      body: { type: 'object', properties: { control: { type: 'boolean' } }, additionalProperties: false },
      response: { 202: { type: 'object', properties: { requestId: { type: 'string' } }, required: ['requestId'] }, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema },
    },
  }, async (request, reply) => {
    const session = sessions.get(request.params.id);
    if (!session || session.claims.shadow) return reply.code(404).send({ error: 'There is no such session (it may have ended).' });
    const desktop = await desktops.get(session.claims.desktop);
    if (!desktop || !protocolsOf(desktop).includes('vnc')) {
      return reply.code(409).send({ error: 'This desktop has no VNC display, which watching needs. Ask an administrator to add one beside its SPICE display.' });
    }
    const asked = shadows.ask(request.principal!.username, { session: session.id, user: session.claims.sub, desktop: desktop.id }, request.body.control ?? false);
    return reply.code(202).send({ requestId: asked.id });
  });

  app.get('/api/shadow', {
    onRequest: requireUser(),
    schema: {
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: { requestId: { type: 'string' }, asker: { type: 'string' }, desktop: { type: 'string' }, control: { type: 'boolean' }, state: { type: 'string' } },
            required: ['requestId', 'asker', 'desktop', 'control', 'state'],
          },
        },
      },
    },
  }, async (request) => shadows.forUser(request.principal!.username)
    .map((r) => ({ requestId: r.id, asker: r.asker, desktop: r.desktop, control: r.control, state: r.state })));

  app.get<{ Params: { requestId: string } }>('/api/shadow/:requestId', {
    onRequest: requireUser(),
    schema: {
      params: requestIdParams,
      response: {
        200: {
          type: 'object',
          properties: {
            state: { type: 'string' },
            attempts: { type: 'array', items: attemptSchema },
          },
          required: ['state'],
        },
        401: errorSchema, 404: errorSchema,
      },
    },
  }, async (request, reply) => {
    const found = party(request, reply, ['asker']);
    if (!found) return reply;
    if (found.state !== 'accepted') return { state: found.state };
    const issued = issuer.issue(request.principal!, found.desktop, 'vnc', {
      viewOnly: !found.control,
      clientIp: normalizeIp(request.socket.remoteAddress),
      browserSession: request.cookies[SESSION_COOKIE],
      shadow: found.id,
    });
    const url = `${webSocketOrigin}/ws/vnc?token=${encodeURIComponent(issued.token)}`;
    return { state: found.state, attempts: [{ protocol: 'vnc', url, token: issued.token, expiresAt: issued.expiresAt.toISOString() }] };
  });

  app.post<{ Params: { requestId: string }; Body: { accept: boolean } }>('/api/shadow/:requestId/answer', {
    onRequest: requireUser(),
    schema: {
      params: requestIdParams,
      body: { type: 'object', properties: { accept: { type: 'boolean' } }, required: ['accept'], additionalProperties: false },
      response: { 204: { type: 'null' }, 401: errorSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (request, reply) => {
    const found = party(request, reply, ['user']);
    if (!found) return reply;
    if (found.state !== 'pending') return reply.code(409).send({ error: `This request was already ${found.state}.` });
    shadows.answer(found, request.body.accept);
    return reply.code(204).send();
  });

  app.delete<{ Params: { requestId: string } }>('/api/shadow/:requestId', {
    onRequest: requireUser(),
    schema: { params: requestIdParams, response: { 204: { type: 'null' }, 401: errorSchema, 404: errorSchema } },
  }, async (request, reply) => {
    const found = party(request, reply, ['asker', 'user']);
    if (!found) return reply;
    shadows.end(found, request.principal!.username);
    return reply.code(204).send();
  });
};
