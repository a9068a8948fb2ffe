// Helpdesk shadowing over HTTP: ask (helpdesk), answer (the session's user, from their viewer),
// poll (the asker), end (either). Nothing is watched without the user's yes.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { SessionIdParams } from '../../contract/api/sessions.js';
import { RequestIdParams, ShadowAnswerBody, ShadowAskBody, ShadowAsked, ShadowNotice, ShadowStatus } from '../../contract/api/shadowing.js';
import { normalizeIp } from '../../contract/client-address.js';
import { protocolsOf } from '../../contract/desktop.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import type { ProtocolRegistry } from '../../contract/protocol.js';
import { buildAttempt } from '../attempts.js';
import { requireUser } from '../http/authentication.js';
import type { ShadowRequest, ShadowRequests } from '../shadowing.js';
import { SESSION_COOKIE } from '../sign-in-sessions.js';
import type { TokenIssuer } from '../token-issuer.js';
import type { DesktopSource } from './desktops.js';

export interface ShadowRoutesOptions {
  shadows: ShadowRequests;
  sessions: LiveSessionDirectory;
  desktops: DesktopSource;
  issuer: TokenIssuer;
  protocols: ProtocolRegistry;
  webSocketOrigin: string;
}

const NOT_FOUND = 'There is no such screen-sharing request.';

export const shadowRoutes: FastifyPluginAsyncTypebox<ShadowRoutesOptions> = async (
  app,
  { shadows, sessions, desktops, issuer, protocols, webSocketOrigin },
) => {
  // Helpdesk watchers connect as a second, shared client over the protocol made for it.
  const watching = protocols.descriptors.find((d) => d.watching);
  /** The request, if the caller is one of its parties; 404 otherwise (its existence is not revealed). */
  async function party(
    request: FastifyRequest,
    requestId: string,
    reply: FastifyReply,
    who: Array<'asker' | 'user'>,
  ): Promise<ShadowRequest | undefined> {
    const found = await shadows.get(requestId);
    const me = request.principal!.username;
    if (!found || !who.some((w) => found[w] === me)) {
      void reply.code(404).send({ error: NOT_FOUND });
      return undefined;
    }
    return found;
  }

  app.post(
    '/api/sessions/:id/shadow',
    {
      onRequest: requireUser('helpdesk', 'admin'),
      schema: {
        params: SessionIdParams,
        body: ShadowAskBody,
        response: { 202: ShadowAsked, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer, 503: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const session = await sessions.get(request.params.id);
      if (!session || session.claims.shadow) return reply.code(404).send({ error: 'There is no such session (it may have ended).' });
      const desktop = await desktops.get(session.claims.desktop);
      if (!desktop || !watching || !protocolsOf(desktop, protocols.ids).includes(watching.id)) {
        const label = watching?.label ?? 'VNC';
        return reply.code(409).send({
          error: `This desktop has no ${label} display, which watching needs. Ask an administrator to add one beside its other displays.`,
        });
      }
      const asked = await shadows.ask(
        request.principal!.username,
        { session: session.id, user: session.claims.sub, desktop: desktop.id },
        request.body.control ?? false,
      );
      return reply.code(202).send({ requestId: asked.id });
    },
  );

  app.get(
    '/api/shadow',
    {
      onRequest: requireUser(),
      schema: { response: { 200: Type.Array(ShadowNotice), 401: ErrorAnswer } },
    },
    async (request) =>
      (await shadows.forUser(request.principal!.username)).map((r) => ({
        requestId: r.id,
        asker: r.asker,
        desktop: r.desktop,
        control: r.control,
        state: r.state,
      })),
  );

  app.get(
    '/api/shadow/:requestId',
    {
      onRequest: requireUser(),
      schema: { params: RequestIdParams, response: { 200: ShadowStatus, 401: ErrorAnswer, 404: ErrorAnswer } },
    },
    async (request, reply) => {
      const found = await party(request, request.params.requestId, reply, ['asker']);
      if (!found) return reply;
      const about = { state: found.state, user: found.user, desktop: found.desktop, control: found.control };
      if (found.state !== 'accepted' || !watching) return about;
      const desktop = await desktops.get(found.desktop);
      if (!desktop) return { ...about, attempts: [] };
      const attempt = buildAttempt(issuer, webSocketOrigin, {
        who: request.principal!,
        desktop,
        descriptor: watching,
        viewOnly: !found.control,
        clientIp: normalizeIp(request.socket.remoteAddress),
        browserSession: request.cookies[SESSION_COOKIE],
        shadow: found.id,
      });
      return { ...about, desktopName: desktop.name, attempts: [attempt] };
    },
  );

  app.post(
    '/api/shadow/:requestId/answer',
    {
      onRequest: requireUser(),
      schema: {
        params: RequestIdParams,
        body: ShadowAnswerBody,
        response: { 204: NoContent, 401: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const found = await party(request, request.params.requestId, reply, ['user']);
      if (!found) return reply;
      if (found.state !== 'pending') return reply.code(409).send({ error: `This request was already ${found.state}.` });
      await shadows.answer(found, request.body.accept);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/shadow/:requestId',
    {
      onRequest: requireUser(),
      schema: { params: RequestIdParams, response: { 204: NoContent, 401: ErrorAnswer, 404: ErrorAnswer } },
    },
    async (request, reply) => {
      const found = await party(request, request.params.requestId, reply, ['asker', 'user']);
      if (!found) return reply;
      await shadows.end(found, request.principal!.username);
      return reply.code(204).send(null);
    },
  );
};
