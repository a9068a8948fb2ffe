// The broker's HTTP application: Fastify with one plugin per concern. Built without a listener
// so tests drive it through `inject`.
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerOptions } from 'node:https';
import type { Logger } from 'pino';
import type { Availability } from '../contract/availability.js';
import { SharedStateError } from '../contract/shared-state.js';
import type { Redis } from 'ioredis';
import type { CertificatePinStore } from '../contract/certificate-pins.js';
import type { LiveSessionDirectory } from '../contract/live-sessions.js';
import type { ProtocolRegistry } from '../contract/protocol.js';
import type { AuditLog } from './audit-log.js';
import type { DeviceCookies } from './device-cookies.js';
import type { Directory } from './directory/directory.js';
import type { Limits } from './limits.js';
import type { OidcFlowSeal } from './directory/oidc-flow-cookie.js';
import type { OidcPrincipals } from './directory/oidc-principals.js';
import type { OidcRelyingParty } from './directory/oidc-relying-party.js';
import { HypervisorUnreachableError } from '../inventory/hypervisor-unreachable.js';
import { INTERNAL_ERROR, clientErrorHandler, clientErrorSentence, frameworkErrors } from './http/error-answers.js';
import { authentication } from './http/authentication.js';
import { availabilityGuard } from './http/availability-guard.js';
import { originGuard } from './http/origin-guard.js';
import { securityHeaders } from './http/security-headers.js';
import { auditRoutes } from './routes/audit.js';
import { countedName } from './sign-in-names.js';
import { authRoutes } from './routes/auth.js';
import { desktopRoutes, type DesktopSource } from './routes/desktops.js';
import { healthRoutes } from './routes/health.js';
import { powerRoutes } from './routes/power.js';
import { describeApi } from './routes/openapi.js';
import { apiReference } from './routes/api-docs.js';
import { hypervisorRoutes, type HypervisorHealthSource } from './routes/hypervisors.js';
import { userListRoutes } from './routes/user-list.js';
import { rdpCertificateRoutes } from './routes/rdp-certificates.js';
import { sessionRoutes } from './routes/sessions.js';
import { shadowRoutes } from './routes/shadow.js';
import { userRoutes } from './routes/users.js';
import type { ShadowRequests } from './shadowing.js';
import type { LockoutStore } from './sign-in-lockout.js';
import type { SignInStore } from './sign-in-sessions.js';
import type { TokenIssuer } from './token-issuer.js';
import type { UserStore } from './users.js';

export interface GatewayServices {
  log: Logger;
  origins: ReadonlySet<string>;
  /** wss:// origin the browser reaches the proxy at. */
  webSocketOrigin: string;
  users: UserStore;
  /** The school directory (LDAP, Active Directory) for names that are not local users; none: local users only. */
  directory?: Directory | undefined;
  /** Signing in through an OpenID provider ("Sign in with …"); none: not offered. */
  oidc?: { party: OidcRelyingParty; seal: OidcFlowSeal; principals: OidcPrincipals } | undefined;
  signIns: SignInStore;
  /** Failed sign-ins per user name, and the locks they lead to. */
  signInLockout: LockoutStore;
  /** Browsers known to have signed in as a user, which others' failures do not lock out. */
  devices: DeviceCookies;
  desktops: DesktopSource;
  /** The hypervisors' health (the inventory), for the admin console; none: /api/hypervisors is absent. */
  hypervisors?: HypervisorHealthSource | undefined;
  issuer: TokenIssuer;
  liveSessions: LiveSessionDirectory;
  /** The protocols this server carries, in default fallback order. */
  protocols: ProtocolRegistry;
  shadows: ShadowRequests;
  /** RDP certificates pinned on first use, shown to administrators. */
  rdpPins: CertificatePinStore;
  audit: AuditLog;
  /** Whether new sign-ins and connections are taken (not while draining). */
  availability: Availability;
  /** Open and running desktops per user and group; none: no limit. */
  limits?: Limits | undefined;
  /** The built web client (dist/web/public). */
  webRoot: string;
  /** With shared state: the sign-in rate limits are counted in Redis, under this key prefix, across nodes. */
  rateLimitStore?: { redis: Redis; prefix: string } | undefined;
}

/**
 * Header reading is bounded, and short: a browser sends its headers at once (WebSocket upgrades
 * included), so a client that dribbles them (slowloris) is cut off after 10 s. Node checks the
 * bound on a timer, every 30 s by default; once a second keeps the cut close to the bound.
 */
const HEADER_LIMITS = { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 } as const;

export async function buildApp(services: GatewayServices, https?: ServerOptions): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    loggerInstance: services.log,
    trustProxy: false,
    bodyLimit: 64 * 1024,
    // Connection limits against slow clients (slowloris on plain requests).
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: true,
    // Unique across processes and nodes (Fastify's default counts from 1 in each process): the id
    // travels in display tokens to the proxy's connection log lines (reqId).
    genReqId: () => randomUUID(),
    frameworkErrors,
    clientErrorHandler,
    // Bodies are taken as sent: a misspelt field ("viewonly") or a wrong type ("control": 1) is
    // refused with the reason, never dropped or coerced into something the caller did not mean.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  };
  const app = (https
    ? Fastify({ ...options, https: { ...https, ...HEADER_LIMITS } } as FastifyServerOptions)
    : Fastify({ ...options, http: HEADER_LIMITS })) as unknown as FastifyInstance;

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; code?: string }, request, reply) => {
    if (error instanceof SharedStateError) {
      request.log.error({ err: error }, 'shared state unavailable: request refused');
      return reply.code(503).header('retry-after', '5').send({ error: error.sentence });
    }
    if (error instanceof HypervisorUnreachableError) {
      request.log.warn({ hypervisor: error.hypervisor, err: error }, 'the hypervisor cannot be reached');
      return reply.code(503).send({
        error: `The desktop's host (${error.hypervisor}) cannot be reached right now. Try again in a minute; if it goes on, tell your administrator.`,
      });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: INTERNAL_ERROR });
    }
    const message = error.validation ? `The request is not valid: ${error.message}.` : clientErrorSentence(status, error);
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'There is nothing at this address.' }));

  await app.register(securityHeaders);
  await app.register(fastifyCookie);
  await app.register(fastifyRateLimit, {
    global: false,
    // After body parsing, so that sign-in attempts are counted per user name and address:
    // a classroom behind one NAT address must not lock itself out.
    hook: 'preHandler',
    keyGenerator: (request) => {
      const body = request.body as { username?: unknown } | undefined;
      return `${request.ip}|${typeof body?.username === 'string' ? countedName(body.username) : ''}`;
    },
    ...(services.rateLimitStore ? { redis: services.rateLimitStore.redis, nameSpace: `${services.rateLimitStore.prefix}rate-limit:` } : {}),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many attempts. Wait ${context.after} and try again.`), { statusCode: context.statusCode }),
  });
  await app.register(originGuard, { origins: services.origins });
  await app.register(authentication, { signIns: services.signIns, users: services.users, directory: services.directory });
  await describeApi(app);
  await apiReference(app);
  await app.register(availabilityGuard, { availability: services.availability });
  await app.register(healthRoutes, { availability: services.availability });
  await app.register(authRoutes, {
    users: services.users,
    signIns: services.signIns,
    lockout: services.signInLockout,
    audit: services.audit,
    sessions: services.liveSessions,
    devices: services.devices,
    directory: services.directory,
    oidc: services.oidc,
    availability: services.availability,
  });
  await app.register(desktopRoutes, {
    desktops: services.desktops,
    issuer: services.issuer,
    protocols: services.protocols,
    webSocketOrigin: services.webSocketOrigin,
    limits: services.limits,
    sessions: services.liveSessions,
  });
  await app.register(powerRoutes, { desktops: services.desktops, audit: services.audit, limits: services.limits });
  await app.register(sessionRoutes, {
    sessions: services.liveSessions,
    watchers: (id) => services.shadows.watchers(id),
    audit: services.audit,
  });
  await app.register(auditRoutes, { audit: services.audit });
  await app.register(userRoutes, {
    signIns: services.signIns,
    sessions: services.liveSessions,
    lockout: services.signInLockout,
    audit: services.audit,
  });
  await app.register(shadowRoutes, {
    shadows: services.shadows,
    sessions: services.liveSessions,
    desktops: services.desktops,
    issuer: services.issuer,
    protocols: services.protocols,
    webSocketOrigin: services.webSocketOrigin,
  });
  await app.register(userListRoutes, { users: services.users, audit: services.audit, sessions: services.liveSessions });
  if (services.hypervisors) await app.register(hypervisorRoutes, { hypervisors: services.hypervisors });
  await app.register(rdpCertificateRoutes, { pins: services.rdpPins, audit: services.audit });
  await app.register(fastifyStatic, {
    root: services.webRoot,
    index: 'index.html',
    list: false,
    redirect: false,
    wildcard: true,
    preCompressed: true, // web/build.ts writes .br and .gz beside scripts and styles
  });
  // With preCompressed, @fastify/static does not find the index for / itself (fastify-static#270).
  app.get('/', (_request, reply) => reply.sendFile('index.html'));
  // The admin console: the page is static; everything it shows comes from admin-only API calls.
  app.get('/admin', (_request, reply) => reply.sendFile('admin.html'));
  return app;
}
