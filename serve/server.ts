// `porthole serve`: the broker, the proxy and the web client on one HTTPS port. The proxy is
// wired to the broker's public key only, as it would be when run on its own.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import { ensureSelfSignedCertificate } from '../certs/self-signed.js';
import { CloseCode } from '../contract/close-codes.js';
import { buildApp } from '../gateway/app.js';
import { AuditLog } from '../gateway/audit-log.js';
import { DeviceCookies } from '../gateway/device-cookies.js';
import { CachedDirectory } from '../gateway/directory/cached-directory.js';
import { LdapDirectory } from '../gateway/directory/ldap-directory.js';
import { OidcFlowSeal } from '../gateway/directory/oidc-flow-cookie.js';
import { StoredOidcPrincipals, withOidcPrincipals } from '../gateway/directory/oidc-principals.js';
import { OidcRelyingParty } from '../gateway/directory/oidc-relying-party.js';
import { createLogger } from '../gateway/logger.js';
import { ShadowRequests } from '../gateway/shadowing.js';
import { SignInLockout } from '../gateway/sign-in-lockout.js';
import { SignInSessions } from '../gateway/sign-in-sessions.js';
import { StateDatabase } from '../gateway/state-database.js';
import { SigningKeyRing } from '../gateway/signing-keys.js';
import { TokenIssuer } from '../gateway/token-issuer.js';
import { UserStore } from '../gateway/users.js';
import { Inventory } from '../inventory/inventory.js';
import { DisplayProxy } from '../proxy/display-proxy.js';
import { ProxyMetrics } from '../proxy/metrics.js';
import { TrafficMarker } from '../proxy/qos/socket-marking.js';
import { CertificatePins } from '../proxy/tls/certificate-pins.js';
import { CaTrust, PinTrust, type CertificateTrust } from '../proxy/tls/certificate-trust.js';
import { TokenVerifier } from '../proxy/token-verifier.js';
import { ProcessAvailability } from './availability.js';
import type { Config } from './config.js';
import { listenForMetrics, type MetricsListener } from './metrics-listener.js';
import { ServiceMetrics } from './service-metrics.js';
import { registerInventoryMetrics } from './inventory-metrics.js';
import { PROTOCOL_MODULES, type ProtocolModule } from './protocols.js';
import { ProtocolRegistry } from '../contract/protocol.js';
import type { LiveSessionDirectory } from '../contract/live-sessions.js';
import { LiveSessions } from '../proxy/live-sessions.js';
import { RedisSignIns } from '../gateway/state/redis-sign-ins.js';
import { RedisLockout } from '../gateway/state/redis-lockout.js';
import { RedisShadowRecords } from '../gateway/state/redis-shadow-records.js';
import { RedisAuditTrail } from '../gateway/state/redis-audit-trail.js';
import { RedisOidcPrincipals } from '../gateway/state/redis-oidc-principals.js';
import { sharedDeviceCookieKey } from '../gateway/state/redis-device-key.js';
import { RedisUsedTokens } from '../proxy/state/redis-used-tokens.js';
import { RedisJoinableTokens } from '../proxy/state/redis-joinable-tokens.js';
import { RedisLiveSessions } from '../proxy/state/redis-live-sessions.js';
import { connectShared, type SharedState } from './shared-state.js';
import { acceptProxyProtocol } from './proxy-protocol.js';

export const WEB_ROOT = fileURLToPath(new URL('../web/public/', import.meta.url)); // dist/serve -> dist/web/public

export interface Gateway {
  app: FastifyInstance;
  /** The plain-HTTP listener of /metrics; a worker has none (its primary serves the workers' sum). */
  metrics: MetricsListener | undefined;
  proxy: DisplayProxy;
  inventory: Inventory;
  log: Logger;
  /** The URL it listens on (https://host:port). */
  url: string;
  /**
   * Stops taking new sign-ins and connections (healthz answers 503), lets live display
   * connections go on until they end or `seconds` have passed, then closes them with the reason
   * that makes viewers reconnect elsewhere. Resolves when no connection is left.
   */
  drain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * @param modules the protocols to carry, in fallback order (tests add a stand-in protocol to
 *   show that one more protocol needs nothing beyond its module)
 */
export async function startGateway(
  config: Config,
  log: Logger = createLogger(config.logLevel),
  modules: readonly ProtocolModule[] = PROTOCOL_MODULES,
): Promise<Gateway> {
  const protocols = new ProtocolRegistry(modules.map((m) => m.descriptor));
  const tls =
    config.tls.cert && config.tls.key
      ? { cert: config.tls.cert, key: config.tls.key }
      : await ensureSelfSignedCertificate(config.publicUrl.hostname);

  const keys = new SigningKeyRing(config.dataDir);
  const verifier = new TokenVerifier(keys.all().map((k) => [k.kid, k.publicKey]));
  /** The signing key now; a rotation by `porthole keys rotate` is picked up here. */
  const signingKey = () => {
    if (keys.refresh()) verifier.setKeys(keys.all().map((k) => [k.kid, k.publicKey]));
    return keys.current();
  };
  // With PORTHOLE_REDIS every process of every node shares its state there; it must answer at
  // start (a wrong URL, password or CA is said at once), and later the process fails closed
  // while it does not.
  const shared: SharedState | undefined = config.redis ? await connectShared(config.redis, log) : undefined;
  const availability = new ProcessAvailability(shared?.health);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const serviceMetrics = new ServiceMetrics(registry, availability);
  if (shared) serviceMetrics.watchRedis(shared.health, registry);
  const inventory = new Inventory(
    config.hypervisors,
    protocols,
    (w) => log.warn({ hypervisor: w.hypervisor }, `inventory: ${w.message}`),
    (hypervisor, seconds, ok) => serviceMetrics.observeLibvirt(hypervisor, seconds, ok),
  );
  registerInventoryMetrics(registry, inventory);

  // Shadowing is decided here and enforced by the proxy: its watchers close when it ends, and a
  // token issued before the end is refused after it.
  const rdpPins = new CertificatePins(config.dataDir);
  let rdpTrust: CertificateTrust;
  try {
    rdpTrust = config.rdp.ca ? new CaTrust(readFileSync(config.rdp.ca)) : new PinTrust(rdpPins);
  } catch (error) {
    throw new Error(`PORTHOLE_RDP_CA ${config.rdp.ca}: ${(error as Error).message}`, { cause: error });
  }
  let displayTrust: CertificateTrust | undefined;
  try {
    const { ca, clientCert, clientKey } = config.displays;
    displayTrust = ca
      ? new CaTrust(
          readFileSync(ca),
          clientCert && clientKey ? { cert: readFileSync(clientCert), key: readFileSync(clientKey) } : undefined,
        )
      : undefined;
  } catch (error) {
    throw new Error(`PORTHOLE_DISPLAY_CA or its client certificate: ${(error as Error).message}`, { cause: error });
  }
  // What survives a restart of this process: sign-ins, and sign-in lockouts (alone), or all of
  // it in Redis (shared).
  const state = shared ? undefined : new StateDatabase(config.dataDir);
  const signIns = shared
    ? new RedisSignIns(shared.store, config.sessions.signInTtlMs)
    : new SignInSessions(config.sessions.signInTtlMs, state);
  const localSessions = new LiveSessions();
  const sharedSessions = shared ? new RedisLiveSessions(localSessions, shared.store, log.child({ component: 'proxy' })) : undefined;
  const liveSessions: LiveSessionDirectory = sharedSessions ?? localSessions;
  const ldap = config.directory.ldap;
  const ldapDirectory = ldap
    ? new CachedDirectory(new LdapDirectory(ldap, log.child({ component: 'directory' })), ldap.cacheSeconds * 1000)
    : undefined;
  const oidcSettings = config.directory.oidc;
  const oidc = oidcSettings
    ? {
        party: new OidcRelyingParty(
          oidcSettings,
          new URL('/api/login/oidc/callback', config.publicUrl).href,
          log.child({ component: 'oidc' }),
        ),
        seal: new OidcFlowSeal(config.dataDir),
        // Provider users' groups, as their ID token said: beside the sign-ins (Redis, or state.db).
        principals: state
          ? new StoredOidcPrincipals(config.sessions.signInTtlMs, state)
          : new RedisOidcPrincipals(shared!.store, config.sessions.signInTtlMs),
      }
    : undefined;
  // OpenID users' groups are looked up beside the LDAP directory's.
  const directory = oidc ? withOidcPrincipals(oidc.principals, ldapDirectory) : ldapDirectory;
  // With Redis, one trail for every node (a stream there); alone, JSON lines under PORTHOLE_DATA.
  const auditLog = log.child({ component: 'audit' });
  const audit = new AuditLog(
    config.dataDir,
    config.audit,
    shared
      ? {
          trail: new RedisAuditTrail(shared.store, config.audit.keepDays, (count) =>
            auditLog.warn({ count }, 'audit entries in Redis that Porthole cannot read were left out of a search'),
          ),
          log: auditLog,
        }
      : undefined,
  );
  audit.onRecord((event) => serviceMetrics.count(event));
  const shadows = new ShadowRequests(
    audit,
    (id, reason) => liveSessions.endWhere({ shadow: id }, CloseCode.shadowEnded, reason),
    Date.now,
    shared ? new RedisShadowRecords(shared.store) : undefined,
  );
  const displayProxy = new DisplayProxy({
    verifier,
    targets: inventory,
    origins: config.allowedOrigins,
    adapters: modules.map((m) =>
      m.adapter({
        guestServerTrust: rdpTrust,
        shared: shared ? { store: shared.store, maxSessionMs: config.sessions.maxDurationMs } : undefined,
      }),
    ),
    sessions: localSessions,
    ...(shared
      ? {
          usedTokens: new RedisUsedTokens(shared.store),
          joinable: new RedisJoinableTokens(shared.store, config.sessions.maxDurationMs),
        }
      : {}),
    log: log.child({ component: 'proxy' }),
    limits: { idleTimeoutMs: config.sessions.idleTimeoutMs, maxDurationMs: config.sessions.maxDurationMs },
    metrics: new ProxyMetrics(registry),
    ...(displayTrust ? { displayTrust } : {}),
    ...(config.qos ? { traffic: { marker: new TrafficMarker(log.child({ component: 'proxy' })), classes: config.qos } } : {}),
    availability,
    audit,
    admission: {
      admit: async (claims) => {
        if (claims.shadow && (await shadows.get(claims.shadow))?.state !== 'accepted') return 'The screen sharing has ended.';
        // A token issued to a browser works only while that browser is signed in.
        if (claims.bsh && !(await signIns.isSignedIn(claims.bsh)))
          return 'You are signed out of Porthole. Sign in again to open your desktop.';
        return undefined;
      },
    },
  });
  serviceMetrics.watchSessions(displayProxy.sessions);
  await sharedSessions?.start();
  liveSessions.onEnded((session) => {
    // A desktop that moved host keeps its watchers: the user's viewer follows it, and so does the shadowing.
    const ended = session.ending?.code === CloseCode.moved ? shadows.sessionMoved(session) : shadows.sessionEnded(session.id);
    ended.catch((error: Error) => log.warn({ session: session.id }, `shadowing not ended: ${error.message}`));
  });
  liveSessions.onOpened((session) => {
    shadows.sessionOpened(session).catch((error: Error) => log.warn({ session: session.id }, `shadowing not followed: ${error.message}`));
  });

  const users = new UserStore(config.dataDir);
  // Timed now, so that the first sign-in of a name without a local password waits only as long as a check.
  void users.checkTime.measure();
  const app = await buildApp(
    {
      log,
      origins: config.allowedOrigins,
      webSocketOrigin: config.publicUrl.origin.replace(/^http/, 'ws'),
      users,
      directory,
      oidc,
      signIns,
      signInLockout: shared ? new RedisLockout(shared.store) : new SignInLockout(state ? { state } : {}),
      devices: new DeviceCookies(shared ? await sharedDeviceCookieKey(shared.store) : config.dataDir),
      desktops: inventory,
      hypervisors: inventory,
      issuer: new TokenIssuer(signingKey, config.tokens.ttlSeconds, config.tokens.bindClientIp, audit),
      liveSessions,
      protocols,
      shadows,
      rdpPins,
      audit,
      availability,
      limits: config.limits,
      webRoot: WEB_ROOT,
      rateLimitStore: shared ? { redis: shared.store.redis, prefix: shared.store.prefix } : undefined,
    },
    { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
  );

  app.server.on('upgrade', (req, socket, head) => displayProxy.handleUpgrade(req, socket, head));
  acceptProxyProtocol(app.server, new Set(config.trustedProxies), log);
  // A worker's metrics are gathered by its primary (PORTHOLE_WORKERS > 1), which serves them.
  if (cluster.isWorker) {
    new AggregatorRegistry(); // installs the worker's answer to its primary's requests
    AggregatorRegistry.setRegistries([registry]);
  }
  const metrics = cluster.isWorker
    ? undefined
    : await listenForMetrics(registry, config.metricsListen).catch((error: Error) => {
        throw new Error(`PORTHOLE_METRICS_LISTEN ${config.metricsListen.host}:${config.metricsListen.port}: ${error.message}`);
      });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info(
    {
      listen: `${host}:${address.port}`,
      publicUrl: config.publicUrl.origin,
      hypervisors: config.hypervisors.map((h) => h.name),
      pid: process.pid,
    },
    'Porthole is serving',
  );
  if (ldap)
    log.info(
      { directory: ldap.urls, bindDn: ldap.bindDn ?? 'anonymous', cacheSeconds: ldap.cacheSeconds },
      'names that are not local users sign in with the directory',
    );
  if (oidcSettings)
    log.info(
      { issuer: oidcSettings.issuer, clientId: oidcSettings.clientId, redirectUri: oidc!.party.redirectUri },
      `the sign-in page offers "Sign in with ${oidcSettings.label}"`,
    );

  async function drain(seconds: number): Promise<void> {
    availability.startDraining();
    const deadline = Date.now() + seconds * 1000;
    let lastReport = 0;
    while (displayProxy.sessions.size > 0 && Date.now() < deadline) {
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        log.info(
          { sessions: displayProxy.sessions.size, secondsLeft: Math.ceil((deadline - Date.now()) / 1000) },
          'draining: live sessions go on',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const closed = displayProxy.endAll(CloseCode.restarting, 'This Porthole server is restarting. Reconnecting…');
    log.info({ closed }, closed ? 'drained: the sessions left were closed for their viewers to reconnect' : 'drained: no session left');
  }

  return {
    app,
    metrics,
    drain,
    proxy: displayProxy,
    inventory,
    log,
    url: `https://${host}:${address.port}`,
    async close() {
      displayProxy.close();
      await app.close();
      await metrics?.close();
      await inventory.close();
      await directory?.close();
      await oidc?.party.close();
      state?.close();
      await sharedSessions?.close();
      await shared?.close();
    },
  };
}
