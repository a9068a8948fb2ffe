// Sign-in and sign-out. A name locked after too many failed sign-ins is refused before its
// password is checked (see sign-in-lockout.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { LoginBody, Principal } from '../../contract/api/sign-in.js';
import { CloseCode } from '../../contract/close-codes.js';
import type { LiveSessionDirectory } from '../../contract/live-sessions.js';
import type { AuditLog } from '../audit-log.js';
import { DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE_SECONDS, type DeviceCookies } from '../device-cookies.js';
import type { LockoutStore } from '../sign-in-lockout.js';
import { SESSION_COOKIE, type SignInStore } from '../sign-in-sessions.js';
import type { UserStore } from '../users.js';
import { DIRECTORY_UNAVAILABLE, DirectoryUnavailableError, type Directory } from '../directory/directory.js';
import { requireUser } from '../http/authentication.js';
import { countedName } from '../sign-in-names.js';

export interface AuthRoutesOptions {
  users: UserStore;
  signIns: SignInStore;
  lockout: LockoutStore;
  audit: AuditLog;
  /** The proxy's live sessions: signing out closes the ones this browser opened. */
  sessions: LiveSessionDirectory;
  devices: DeviceCookies;
  /** The school directory, for names that are not local users. */
  directory?: Directory | undefined;
}

/** "5 minutes", "1 minute", "30 seconds": a wait, rounded up, as a person reads it. */
function waitOf(ms: number): string {
  const [n, unit] = ms >= 60_000 ? [Math.ceil(ms / 60_000), 'minute'] : [Math.max(1, Math.ceil(ms / 1000)), 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

const lockedSentence = (ms: number) =>
  `Too many failed sign-ins for this account. Try again in ${waitOf(ms)}, or ask your administrator to unlock it.`;

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { users, signIns, lockout, audit, sessions, devices, directory },
) => {
  app.post(
    '/api/login',
    {
      config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
      schema: { body: LoginBody, response: { 200: Principal, 401: ErrorAnswer, 429: ErrorAnswer, 503: ErrorAnswer } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      // A browser that signed in as this user before is counted on its own, not with the name:
      // others' guesses that locked the name do not lock it out. (A typed name cannot stand for a
      // device's key: that would take the device's random id, which only its HttpOnly cookie holds.)
      const device = devices.verify(request.cookies[DEVICE_COOKIE], username);
      const counted = device ? `device:${device}` : countedName(username);
      const refusal = await lockout.admit(counted);
      if (refusal) {
        audit.record({
          event: 'sign-in.refused',
          user: username,
          client: request.ip,
          reason: refusal.reason === 'locked' ? 'locked' : 'too many at once',
        });
        reply.header('retry-after', Math.ceil(refusal.retryAfterMs / 1000));
        return reply.code(429).send({
          error:
            refusal.reason === 'locked'
              ? lockedSentence(refusal.retryAfterMs)
              : `Too many sign-ins for this account are under way at once. Try again in ${waitOf(refusal.retryAfterMs)}.`,
        });
      }
      let principal: Awaited<ReturnType<UserStore['authenticate']>>;
      try {
        // Always the local check first (it takes as long for unknown names): a local user of the
        // name wins, and is the way in while the directory is down.
        principal = await users.authenticate(username, password);
        if (!principal && directory && !(await users.get(username))) {
          principal = await directory.authenticate(username, password);
          // "ALICE" is the directory's alice: when that is a local user's name, the local user
          // wins here too (the sign-in would otherwise resolve to the local account).
          if (principal && (await users.get(principal.username))) principal = undefined;
        }
      } catch (error) {
        await lockout.settle(counted, undefined);
        if (!(error instanceof DirectoryUnavailableError)) throw error;
        request.log.warn({ user: username }, 'sign-in refused: the directory cannot be reached');
        return reply.code(503).send({ error: DIRECTORY_UNAVAILABLE });
      }
      const lock = await lockout.settle(counted, principal !== undefined);
      if (!principal) {
        request.log.info({ user: username }, 'sign-in failed');
        audit.record({
          event: 'sign-in.refused',
          user: username,
          client: request.ip,
          reason: lock ? 'locked now' : 'wrong user name or password',
        });
        if (!lock) return reply.code(401).send({ error: 'The user name or password is not right.' });
        const until = new Date(lock.until).toISOString();
        request.log.warn(
          { user: username, until, lockMinutes: lock.durationMs / 60_000, lockCount: lock.count },
          'sign-in locked after too many failures',
        );
        audit.record({
          event: 'sign-in.locked',
          user: username,
          address: request.ip,
          until,
          minutes: lock.durationMs / 60_000,
          count: lock.count,
          ...(device ? { device: 'a browser the user signed in from before' } : {}),
        });
        return reply.code(401).send({ error: `The user name or password is not right. ${lockedSentence(lock.durationMs)}` });
      }
      // A new id on every sign-in; the old one (if any) is dropped.
      await signIns.delete(request.cookies[SESSION_COOKIE]);
      const id = await signIns.create(principal.username);
      reply.setCookie(SESSION_COOKIE, id, {
        httpOnly: true,
        secure: true,
        sameSite: 'strict',
        path: '/',
        maxAge: Math.floor(signIns.ttlMs / 1000),
      });
      if (!device) {
        reply.setCookie(DEVICE_COOKIE, devices.issue(username), {
          httpOnly: true,
          secure: true,
          sameSite: 'strict',
          path: '/api/login',
          maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
        });
      }
      request.log.info({ user: username }, 'signed in');
      audit.record({ event: 'sign-in', user: username, client: request.ip });
      return principal;
    },
  );

  // Who is signed in: the page shows the name after a reload, and knows the roles.
  app.get(
    '/api/me',
    {
      onRequest: requireUser(),
      schema: { response: { 200: Principal, 401: ErrorAnswer } },
    },
    async (request) => request.principal!,
  );

  app.post('/api/logout', { schema: { response: { 204: NoContent } } }, async (request, reply) => {
    const who = request.principal;
    const binding = await signIns.delete(request.cookies[SESSION_COOKIE]);
    // A shared classroom computer: signing out also closes the desktops this browser has open.
    if (binding) await sessions.endWhere({ browser: binding }, CloseCode.signedOut, 'You signed out of Porthole.');
    reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    if (who) {
      request.log.info({ user: who.username }, 'signed out');
      audit.record({ event: 'sign-out', user: who.username, client: request.ip });
    }
    return reply.code(204).send(null);
  });
};
