// Sign-in and sign-out: with a password (local users, then the directory), or through an OpenID
// provider ("Sign in with …": the authorization code flow, its state in a sealed cookie). A name
// locked after too many failed sign-ins is refused before its password is checked (see
// sign-in-lockout.ts). Both ways end in the same sign-in session and audit event.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { LoginBody, OidcCallbackQuery, OidcStartQuery, Principal, SignInOptions, type OidcFailure } from '../../contract/api/sign-in.js';
import type { Availability } from '../../contract/availability.js';
import type { Principal as Who } from '../../contract/desktop.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
import { rolesOf } from '../directory/group-roles.js';
import { OIDC_FLOW_COOKIE, OIDC_FLOW_MAX_AGE_SECONDS, safeReturnPath, type OidcFlowSeal } from '../directory/oidc-flow-cookie.js';
import type { OidcPrincipals } from '../directory/oidc-principals.js';
import { OidcRefusal, type OidcRelyingParty } from '../directory/oidc-relying-party.js';

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
  /** Signing in through an OpenID provider; none: GET /api/login/oidc answers 404. */
  oidc?: { party: OidcRelyingParty; seal: OidcFlowSeal; principals: OidcPrincipals } | undefined;
  /** Whether new sign-ins are taken (not while draining); the OpenID routes redirect with it. */
  availability?: Availability | undefined;
}

/** The flow cookie: sent back on the provider's redirect (a top-level GET from its site: Lax), only to the OpenID routes. */
const FLOW_COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: 'lax', path: '/api/login/oidc' } as const;

/** The sign-in page, saying why, and keeping the page first asked for. */
function signInPage(reason: OidcFailure, returnTo: string): string {
  return `/?signInError=${reason}${returnTo !== '/' ? `&return=${encodeURIComponent(returnTo)}` : ''}`;
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
  { users, signIns, lockout, audit, sessions, devices, directory, oidc, availability },
) => {
  /**
   * A new sign-in session for `username`: a fresh id every time, the old one (if any) dropped.
   * @param named the name as the person gave it, for the log and the audit trail
   */
  const startSession = async (
    request: FastifyRequest,
    reply: FastifyReply,
    username: string,
    named: string,
    method: 'password' | 'oidc',
  ) => {
    // Awaited whether sign-ins are this process's or shared: the same code either way.
    await signIns.delete(request.cookies[SESSION_COOKIE]);
    const id = await signIns.create(username);
    reply.setCookie(SESSION_COOKIE, id, {
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      path: '/',
      maxAge: Math.floor(signIns.ttlMs / 1000),
    });
    request.log.info({ user: named, method }, 'signed in');
    audit.record({ event: 'sign-in', user: named, client: request.ip, method });
  };

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
        // A local user of the name wins, and is the way in while the directory is down.
        if (!directory || (await users.get(username))) principal = await users.authenticate(username, password);
        else {
          // Not a local name: the directory's answer, and no sooner than a local check would
          // have come, so timing tells local names from others no more than the answer does.
          const [, found] = await Promise.all([users.checkTime.wait(), directory.authenticate(username, password)]);
          // "ALICE" is the directory's alice: when that is a local user's name, the local user
          // wins here too (the sign-in would otherwise resolve to the local account).
          principal = found && (await users.get(found.username)) ? undefined : found;
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
      await startSession(request, reply, principal.username, username, 'password');
      if (!device) {
        reply.setCookie(DEVICE_COOKIE, devices.issue(username), {
          httpOnly: true,
          secure: true,
          sameSite: 'strict',
          path: '/api/login',
          maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
        });
      }
      return principal;
    },
  );

  // How the sign-in page may sign in (beyond the contract): it shows "Sign in with <label>" from this.
  app.get('/api/login/options', { schema: { response: { 200: SignInOptions } } }, async () => ({
    password: true,
    ...(oidc ? { oidc: { label: oidc.party.settings.label, url: '/api/login/oidc' } } : {}),
  }));

  // Counted per address alone (there is no name yet), so generously: a class of 30 behind one NAT
  // address clicks "Sign in with …" in the same minute, some twice.
  app.get(
    '/api/login/oidc',
    {
      config: { rateLimit: { max: 300, timeWindow: '1 minute' } },
      schema: { querystring: OidcStartQuery, response: { 404: ErrorAnswer } },
    },
    async (request, reply) => {
      if (!oidc)
        return reply
          .code(404)
          .send({ error: 'Signing in with an outside account is not set up here. Sign in with your user name and password.' });
      const returnTo = safeReturnPath(request.query.return);
      if (availability?.refusal()) return reply.redirect(signInPage('unavailable', returnTo), 302);
      try {
        const { url, flow } = await oidc.party.begin(returnTo);
        reply.setCookie(OIDC_FLOW_COOKIE, oidc.seal.seal(flow), { ...FLOW_COOKIE_OPTIONS, maxAge: OIDC_FLOW_MAX_AGE_SECONDS });
        return reply.redirect(url.href, 302);
      } catch (error) {
        if (!(error instanceof OidcRefusal)) throw error;
        audit.record({ event: 'sign-in.refused', client: request.ip, method: 'oidc', reason: error.reason, detail: error.detail });
        return reply.redirect(signInPage(error.reason, returnTo), 302);
      }
    },
  );

  app.get(
    '/api/login/oidc/callback',
    {
      config: { rateLimit: { max: 300, timeWindow: '1 minute' } },
      schema: { querystring: OidcCallbackQuery, response: { 404: ErrorAnswer } },
    },
    async (request, reply) => {
      if (!oidc) return reply.code(404).send({ error: 'Signing in with an outside account is not set up here.' });
      // Used once, whatever the outcome: a second answer for the same flow finds nothing.
      const flow = oidc.seal.open(request.cookies[OIDC_FLOW_COOKIE]);
      reply.clearCookie(OIDC_FLOW_COOKIE, FLOW_COOKIE_OPTIONS);
      const returnTo = flow?.returnTo ?? '/';
      const refuse = (reason: OidcFailure, detail: string, user?: string) => {
        request.log.warn({ reason, detail, ...(user ? { user } : {}) }, 'OpenID sign-in refused');
        audit.record({ event: 'sign-in.refused', ...(user ? { user } : {}), client: request.ip, method: 'oidc', reason, detail });
        return reply.redirect(signInPage(reason, returnTo), 302);
      };
      if (availability?.refusal()) return refuse('unavailable', 'the process is draining');
      if (!flow) return refuse('state', 'no sign-in was started from this browser in the last 10 minutes (no valid flow cookie)');
      const query = new URLSearchParams(request.raw.url!.slice(request.raw.url!.indexOf('?') + 1));
      let identity;
      try {
        identity = await oidc.party.finish(query, flow);
      } catch (error) {
        if (!(error instanceof OidcRefusal)) throw error;
        return refuse(error.reason, error.detail);
      }
      // A local user of the name is a different account (the administrators' way in): never theirs.
      if (await users.get(identity.username)) {
        return refuse('local-name', 'the provider names a local user; local users sign in with their password', identity.username);
      }
      const who: Who = { username: identity.username, roles: rolesOf(identity.groups, oidc.party.settings.roles), groups: identity.groups };
      await oidc.principals.keep(who);
      await startSession(request, reply, who.username, who.username, 'oidc');
      return reply.redirect(returnTo, 302);
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
