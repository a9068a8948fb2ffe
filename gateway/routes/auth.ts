// Sign-in and sign-out.
import type { FastifyPluginAsync } from 'fastify';
import { SESSION_COOKIE, type SignInSessions } from '../sign-in-sessions.js';
import type { UserStore } from '../users.js';
import { errorSchema } from '../http/schemas.js';

const principalSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    groups: { type: 'array', items: { type: 'string' } },
  },
  required: ['username', 'roles', 'groups'],
} as const;

export interface AuthRoutesOptions {
  users: UserStore;
  signIns: SignInSessions;
}

export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (app, { users, signIns }) => {
  app.post<{ Body: { username: string; password: string } }>('/api/login', {
    config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
    schema: {
      body: {
        type: 'object',
        properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        required: ['username', 'password'],
        additionalProperties: false,
      },
      response: { 200: principalSchema, 401: errorSchema },
    },
  }, async (request, reply) => {
    const { username, password } = request.body;
    const principal = await users.authenticate(username, password);
    if (!principal) {
      request.log.info({ user: username }, 'sign-in failed');
      return reply.code(401).send({ error: 'The user name or password is not right.' });
    }
    // A new id on every sign-in; the old one (if any) is dropped.
    signIns.delete(request.cookies[SESSION_COOKIE]);
    const id = signIns.create(principal);
    reply.setCookie(SESSION_COOKIE, id, {
      httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: Math.floor(signIns.ttlMs / 1000),
    });
    request.log.info({ user: username }, 'signed in');
    return principal;
  });

  app.post('/api/logout', { schema: { response: { 204: { type: 'null' } } } }, async (request, reply) => {
    const who = request.principal;
    signIns.delete(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    if (who) request.log.info({ user: who.username }, 'signed out');
    return reply.code(204).send();
  });
};
