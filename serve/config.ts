// Porthole's configuration: a JSON or YAML file named by PORTHOLE_CONFIG, then the environment
// variables of the contract, which win. Every problem is reported with the setting's name.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_RETENTION, type AuditRetention } from '../gateway/audit-log.js';
import type { LogLevel } from '../gateway/logger.js';
import { parseHypervisors, type HypervisorSpec } from '../inventory/hypervisor-spec.js';
import { MAX_TOKEN_TTL_SECONDS } from '../contract/display-token.js';
import type { TrafficClass } from '../contract/protocol.js';
import { defaultTrafficClasses, validTrafficClass, type TrafficClasses } from '../proxy/qos/traffic-classes.js';
import { PROTOCOLS } from './protocols.js';
import type { LdapSettings } from '../gateway/directory/ldap-settings.js';
import type { OidcSettings } from '../gateway/directory/oidc-settings.js';
import type { Limits } from '../gateway/limits.js';
import { parseDirectory } from './directory-config.js';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { normalizeIp } from '../contract/client-address.js';
import { redisOptions, type RedisSettings } from '../state/redis-connection.js';
import { parseLimits } from './limits-config.js';

export interface Config {
  listen: { host: string; port: number };
  /** The plain-HTTP listener of /metrics, apart from the public port. */
  metricsListen: { host: string; port: number };
  /** How long live display connections may go on after SIGTERM before they are closed. */
  drainSeconds: number;
  /** Processes serving this node's port (more than 1 needs `redis`). */
  workers: number;
  /** Shared state for several processes and nodes; undefined: one process, state under dataDir. */
  redis: RedisSettings | undefined;
  /**
   * Addresses of the load balancers allowed to name the client with the PROXY protocol (v1);
   * empty: the peer's own address is the client's, whatever it sends.
   */
  trustedProxies: string[];
  /** The audit trail's rotation and retention. */
  audit: AuditRetention;
  publicUrl: URL;
  /** Origins accepted on API calls and WebSocket upgrades. */
  allowedOrigins: Set<string>;
  tls: { cert?: string; key?: string };
  hypervisors: HypervisorSpec[];
  dataDir: string;
  logLevel: LogLevel;
  tokens: { ttlSeconds: number; bindClientIp: boolean };
  sessions: { idleTimeoutMs: number; maxDurationMs: number; signInTtlMs: number };
  /** 802.1p priority and DSCP per kind of traffic and leg; undefined when turned off. */
  qos: TrafficClasses | undefined;
  /**
   * How RDP servers' certificates are trusted: a CA bundle (PEM file) that signs them, or,
   * without one, each desktop's first certificate pinned (trust on first use).
   */
  rdp: { ca?: string };
  /**
   * TLS to SPICE and VNC displays (SPICE's tlsPort, VeNCrypt): the CA that signs the hypervisors'
   * display certificates, and a client certificate for displays that verify their peers.
   */
  displays: { ca?: string; clientCert?: string; clientKey?: string };
  /** Where users who are not local sign in; empty: local users only. */
  directory: { ldap?: LdapSettings; oidc?: OidcSettings };
  /** Open desktops per user and group, running desktops per user and group; empty: no limit. */
  limits: Limits;
}

/** The file's shape: every key optional. */
interface ConfigFile {
  listen?: string;
  metricsListen?: string;
  drainSeconds?: number;
  audit?: { rotateMegabytes?: number; keepDays?: number };
  publicUrl?: string;
  allowedOrigins?: string[] | string;
  tls?: { cert?: string; key?: string };
  libvirt?: string[] | string;
  data?: string;
  logLevel?: string;
  tokens?: { ttlSeconds?: number; bindClientIp?: boolean };
  sessions?: { idleMinutes?: number; maxHours?: number; signInHours?: number };
  rdp?: { ca?: string };
  displays?: { ca?: string; clientCert?: string; clientKey?: string };
  directory?: unknown;
  workers?: number | 'auto';
  redis?: { url?: string; ca?: string; prefix?: string };
  trustedProxies?: string[] | string;
  limits?: unknown;
  qos?: {
    enabled?: boolean;
    classes?: Partial<Record<string, Partial<TrafficClass> & { client?: Partial<TrafficClass>; display?: Partial<TrafficClass> }>>;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseListen(value: string, name: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`${name} "${value}" must be host:port, e.g. 0.0.0.0:8443`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * @param httpsOnly the public URL: Porthole serves HTTPS only, and a browser's WebSockets from an
 *   http:// page would be ws://, which it does not answer (an extra allowed origin may be http).
 */
function parseOrigin(value: string, name: string, httpsOnly = false): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) {
    throw new ConfigError(
      `${name} "${value}" must be an https URL${httpsOnly ? ": Porthole serves HTTPS only (put a TLS-terminating proxy's https:// address here if one is in front)" : ' or an http one'}`,
    );
  }
  return url.origin;
}

function list(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim()).filter(Boolean);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new ConfigError(`${name} must be a positive number`);
  return value;
}

/** PORTHOLE_REDIS (or `redis.url`), its CA (PORTHOLE_REDIS_CA or `redis.ca`) and key prefix (`redis.prefix`). */
function parseRedis(file: ConfigFile['redis'], env: NodeJS.ProcessEnv, cwd: string): RedisSettings | undefined {
  const url = env.PORTHOLE_REDIS || file?.url;
  if (!url) return undefined;
  const ca = env.PORTHOLE_REDIS_CA ?? file?.ca;
  const prefix = env.PORTHOLE_REDIS_PREFIX ?? file?.prefix ?? 'porthole:';
  if (typeof prefix !== 'string' || !/^[\w.:-]{1,64}$/.test(prefix)) {
    throw new ConfigError(`redis.prefix "${String(prefix)}" must be 1-64 letters, digits, '.', ':', '_' or '-'`);
  }
  const settings: RedisSettings = { url, prefix, ...(ca ? { ca: resolve(cwd, ca) } : {}) };
  try {
    redisOptions(settings);
  } catch (error) {
    // The URL may hold a password: never repeat it.
    throw new ConfigError(`PORTHOLE_REDIS ${(error as Error).message}`);
  }
  return settings;
}

/**
 * PORTHOLE_WORKERS (or `workers`): `auto` is one process per core with shared state, else one.
 * Several processes without Redis would each keep their own sign-ins, tokens and sessions.
 */
function parseWorkers(file: ConfigFile['workers'], env: NodeJS.ProcessEnv, redis: RedisSettings | undefined): number {
  const value = String(env.PORTHOLE_WORKERS ?? file ?? 'auto');
  const n = value === 'auto' ? (redis ? availableParallelism() : 1) : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`PORTHOLE_WORKERS "${value}" must be a whole number of processes, or auto`);
  if (n > 1 && !redis) {
    throw new ConfigError(
      `PORTHOLE_WORKERS=${value} needs PORTHOLE_REDIS: several processes must share sign-ins, tokens and sessions; without it, run one (PORTHOLE_WORKERS=1)`,
    );
  }
  return n;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0)) throw new ConfigError(`${name} must be a number of seconds, 0 or more`);
  return value;
}

function readFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read PORTHOLE_CONFIG file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a mapping of settings');
    return parsed as ConfigFile;
  } catch (error) {
    throw new ConfigError(`PORTHOLE_CONFIG file ${path}: ${(error as Error).message}`);
  }
}

/** One change to the default classes: a kind, one leg or both, priority and/or DSCP. */
interface ClassOverride {
  kind: string;
  leg?: 'client' | 'display';
  value: Partial<TrafficClass>;
  /** Where it was written, for error messages. */
  source: string;
}

/** The file's `qos.classes`: per kind, `{ priority, dscp, client: {...}, display: {...} }`. */
function fileOverrides(file: ConfigFile['qos']): ClassOverride[] {
  return Object.entries(file?.classes ?? {}).flatMap(([kind, override]) => {
    const { client, display, ...bothLegs } = override ?? {};
    const source = `qos.classes.${kind}`;
    return [
      { kind, value: bothLegs, source },
      ...(client ? [{ kind, leg: 'client' as const, value: client, source }] : []),
      ...(display ? [{ kind, leg: 'display' as const, value: display, source }] : []),
    ];
  });
}

/**
 * PORTHOLE_QOS_CLASSES: entries `KIND=PRIORITY/DSCP` or `KIND.LEG=PRIORITY/DSCP` (LEG: client or
 * display), separated by commas or spaces, e.g. `spice.inputs=6/46, vnc.display=4/26`.
 */
function environmentOverrides(text: string | undefined): ClassOverride[] {
  return (text ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      const source = `PORTHOLE_QOS_CLASSES entry "${entry}"`;
      const match = /^([a-z.]+)=(\d+)\/(\d+)$/.exec(entry);
      if (!match) throw new ConfigError(`${source}: write KIND=PRIORITY/DSCP or KIND.LEG=PRIORITY/DSCP, e.g. spice.inputs=6/32`);
      const [, name, priority, dscp] = match as unknown as [string, string, string, string];
      const legMatch = /^(.+)\.(client|display)$/.exec(name);
      // "spice.display" is a kind; "spice.display.client" is its browser-side leg.
      const perLeg = !(name in PROTOCOLS.trafficKinds()) && legMatch;
      return {
        kind: perLeg ? legMatch[1]! : name,
        ...(perLeg ? { leg: legMatch[2] as 'client' | 'display' } : {}),
        value: { priority: Number(priority), dscp: Number(dscp) },
        source,
      };
    });
}

/** The default classes with the file's overrides, then the environment's: per kind, for both legs or per leg. */
function trafficClasses(file: ConfigFile['qos'], env: NodeJS.ProcessEnv): TrafficClasses | undefined {
  const flag = env.PORTHOLE_QOS;
  if (flag !== undefined && !['on', 'off'].includes(flag)) throw new ConfigError('PORTHOLE_QOS must be on or off');
  if (flag === 'off' || (flag === undefined && file?.enabled === false)) return undefined;
  const classes = defaultTrafficClasses(PROTOCOLS);
  for (const { kind, leg, value, source } of [...fileOverrides(file), ...environmentOverrides(env.PORTHOLE_QOS_CLASSES)]) {
    const legs = classes[kind];
    if (!legs) {
      throw new ConfigError(`${source}: ${kind} is not a kind of traffic; use one of ${Object.keys(classes).join(', ')}`);
    }
    for (const side of leg ? [leg] : (['client', 'display'] as const)) {
      legs[side] = { ...legs[side], ...value };
      if (!validTrafficClass(legs[side])) throw new ConfigError(`${source}: priority must be 0-7 and dscp 0-63`);
    }
  }
  return classes;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const file = env.PORTHOLE_CONFIG ? readFile(resolve(cwd, env.PORTHOLE_CONFIG)) : {};
  /** Where a setting came from, for its error message: the variable when set, else the file's key. */
  const from = (variable: string, key: keyof ConfigFile) =>
    env[variable] === undefined && file[key] !== undefined ? `${env.PORTHOLE_CONFIG} ${key}` : variable;
  const publicUrl = new URL(
    parseOrigin(env.PORTHOLE_PUBLIC_URL ?? file.publicUrl ?? 'https://localhost:8443', from('PORTHOLE_PUBLIC_URL', 'publicUrl'), true),
  );
  const allowedOrigins = new Set([
    publicUrl.origin,
    ...list(env.PORTHOLE_ALLOWED_ORIGINS ?? file.allowedOrigins).map((o) =>
      parseOrigin(o, from('PORTHOLE_ALLOWED_ORIGINS', 'allowedOrigins')),
    ),
  ]);
  const redis = parseRedis(file.redis, env, cwd);
  const workers = parseWorkers(file.workers, env, redis);
  const trustedProxies = list(env.PORTHOLE_TRUSTED_PROXIES ?? file.trustedProxies).map(normalizeIp);
  for (const address of trustedProxies)
    if (isIP(address) === 0) throw new ConfigError(`trustedProxies: "${address}" is not an IP address (name each balancer's address)`);
  const level = env.PORTHOLE_LOG_LEVEL ?? file.logLevel ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new ConfigError(`${from('PORTHOLE_LOG_LEVEL', 'logLevel')} "${level}" must be one of debug, info, warn, error`);
  }
  let hypervisors: HypervisorSpec[];
  try {
    hypervisors = parseHypervisors(env.PORTHOLE_LIBVIRT ?? (file.libvirt !== undefined ? list(file.libvirt) : 'qemu:///system'));
  } catch (error) {
    throw new ConfigError(`${from('PORTHOLE_LIBVIRT', 'libvirt')}: ${(error as Error).message}`);
  }
  const ttl = positive(file.tokens?.ttlSeconds, MAX_TOKEN_TTL_SECONDS, 'tokens.ttlSeconds');
  if (ttl > MAX_TOKEN_TTL_SECONDS) throw new ConfigError(`tokens.ttlSeconds may be at most ${MAX_TOKEN_TTL_SECONDS}`);
  const bindEnv = env.PORTHOLE_TOKEN_BIND_IP;
  if (bindEnv !== undefined && !['true', 'false'].includes(bindEnv)) throw new ConfigError('PORTHOLE_TOKEN_BIND_IP must be true or false');
  const cert = env.PORTHOLE_TLS_CERT ?? file.tls?.cert;
  const key = env.PORTHOLE_TLS_KEY ?? file.tls?.key;
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError('PORTHOLE_TLS_CERT and PORTHOLE_TLS_KEY go together: set both or neither');
  const rdpCa = env.PORTHOLE_RDP_CA ?? file.rdp?.ca;
  const displayCa = env.PORTHOLE_DISPLAY_CA ?? file.displays?.ca;
  const clientCert = env.PORTHOLE_DISPLAY_CLIENT_CERT ?? file.displays?.clientCert;
  const clientKey = env.PORTHOLE_DISPLAY_CLIENT_KEY ?? file.displays?.clientKey;
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new ConfigError('PORTHOLE_DISPLAY_CLIENT_CERT and PORTHOLE_DISPLAY_CLIENT_KEY go together: set both or neither');
  }
  if (clientCert !== undefined && displayCa === undefined) throw new ConfigError('PORTHOLE_DISPLAY_CLIENT_CERT needs PORTHOLE_DISPLAY_CA');

  return {
    listen: parseListen(String(env.PORTHOLE_LISTEN ?? file.listen ?? '0.0.0.0:8443'), from('PORTHOLE_LISTEN', 'listen')),
    metricsListen: parseListen(
      String(env.PORTHOLE_METRICS_LISTEN ?? file.metricsListen ?? '127.0.0.1:9464'),
      from('PORTHOLE_METRICS_LISTEN', 'metricsListen'),
    ),
    drainSeconds: nonNegative(file.drainSeconds, 300, 'drainSeconds'),
    workers,
    redis,
    trustedProxies,
    audit: {
      rotateBytes: positive(file.audit?.rotateMegabytes, DEFAULT_RETENTION.rotateBytes / 1048576, 'audit.rotateMegabytes') * 1048576,
      keepDays: positive(file.audit?.keepDays, DEFAULT_RETENTION.keepDays, 'audit.keepDays'),
    },
    publicUrl,
    allowedOrigins,
    tls: { ...(cert ? { cert: resolve(cwd, cert) } : {}), ...(key ? { key: resolve(cwd, key) } : {}) },
    hypervisors,
    dataDir: resolve(cwd, env.PORTHOLE_DATA ?? file.data ?? './data'),
    logLevel: level as LogLevel,
    tokens: { ttlSeconds: ttl, bindClientIp: bindEnv !== undefined ? bindEnv === 'true' : (file.tokens?.bindClientIp ?? true) },
    sessions: {
      idleTimeoutMs: positive(file.sessions?.idleMinutes, 30, 'sessions.idleMinutes') * 60_000,
      maxDurationMs: positive(file.sessions?.maxHours, 12, 'sessions.maxHours') * 3_600_000,
      signInTtlMs: positive(file.sessions?.signInHours, 12, 'sessions.signInHours') * 3_600_000,
    },
    qos: trafficClasses(file.qos, env),
    rdp: rdpCa ? { ca: resolve(cwd, rdpCa) } : {},
    displays: {
      ...(displayCa ? { ca: resolve(cwd, displayCa) } : {}),
      ...(clientCert && clientKey ? { clientCert: resolve(cwd, clientCert), clientKey: resolve(cwd, clientKey) } : {}),
    },
    directory: parseDirectory(file.directory, env, cwd, (message) => new ConfigError(message)),
    limits: parseLimits(file.limits, (message) => new ConfigError(message)),
  };
}
