// Who is calling: the sign-in cookie resolved to a principal on every request, and guards
// for routes that need a signed-in user or a role.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../contract/desktop.js';
import { SESSION_COOKIE, type SignInStore } from '../sign-in-sessions.js';
import type { Role, UserStore } from '../users.js';
import { DIRECTORY_UNAVAILABLE, DirectoryUnavailableError, type Directory } from '../directory/directory.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    /** Why a signed-in directory user's principal could not be read (the directory is down). */
    principalUnavailable: string | undefined;
  }
}

export const authentication = fp<{ signIns: SignInStore; users: UserStore; directory?: Directory | undefined }>(
  async (app, { signIns, users, directory }) => {
    app.decorateRequest('principal', undefined);
    app.decorateRequest('principalUnavailable', undefined);
    app.addHook('onRequest', async (request) => {
      const id = request.cookies[SESSION_COOKIE];
      const username = await signIns.get(id);
      if (!username) return;
      // Roles and groups as the user store says now: `porthole user add` changing them while
      // someone is signed in takes effect at their next request (the store re-reads a changed file).
      const user = await users.get(username);
      if (user) {
        request.principal = { username: user.username, roles: [...user.roles], groups: [...user.groups] };
        return;
      }
      // A directory user: groups and roles as read at most the directory's cache bound ago
      // (CachedDirectory). While the directory cannot say, nobody is let in on old groups.
      try {
        const principal = directory ? await directory.lookup(username) : undefined;
        if (principal) request.principal = principal;
        else await signIns.delete(id);
      } catch (error) {
        if (!(error instanceof DirectoryUnavailableError)) throw error;
        request.principalUnavailable = DIRECTORY_UNAVAILABLE;
      }
    });
  },
  { name: 'porthole-authentication', dependencies: ['@fastify/cookie'] },
);

/** onRequest (before the body is read or checked): 401 unless signed in, 403 unless the user has one of `roles` (when given). */
export function requireUser(...roles: Role[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const who = request.principal;
    if (!who && request.principalUnavailable) return reply.code(503).send({ error: request.principalUnavailable });
    if (!who) return reply.code(401).send({ error: 'Please sign in first.' });
    if (roles.length > 0 && !roles.some((r) => who.roles.includes(r))) {
      return reply.code(403).send({ error: `This needs the ${roles.join(' or ')} role.` });
    }
  };
}
