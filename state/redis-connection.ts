// A Redis client from PORTHOLE_REDIS: redis://[user:password@]host:port[/db], rediss://… (TLS,
// the server's certificate verified against the configured CA, or the system's), or
// redis-sentinel://[user:password@]host1:port,host2:port/MASTERNAME. ioredis does the protocol,
// the reconnections and Sentinel; this file only turns the contract's URLs into its options.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisSettings {
  url: string;
  /** PEM file of the CA that signs the Redis server's certificate (rediss://, or Sentinel with TLS). */
  ca?: string | undefined;
  /** Every key starts with it. */
  prefix: string;
}

/** A Redis that does not answer within this long counts as unreachable: the process fails closed. */
export const COMMAND_TIMEOUT_MS = 2000;

function hostPort(text: string, url: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new Error(`"${text}" in ${url} is not host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : 6379 };
}

/** ioredis options for a PORTHOLE_REDIS URL; throws with the reason when it is not one. */
export function redisOptions(settings: RedisSettings): RedisOptions {
  const { url } = settings;
  const match = /^(redis|rediss|redis-sentinel):\/\/(?:([^@/]*)@)?([^/]+)(?:\/([^/?#]*))?$/.exec(url);
  if (!match) {
    throw new Error('must be redis://[user:password@]host:port[/db], rediss://… or redis-sentinel://host1:port,host2:port/MASTERNAME');
  }
  const [, scheme, userInfo, hosts, path] = match as unknown as [string, string, string | undefined, string, string | undefined];
  const [user, password] = userInfo ? userInfo.split(':', 2).map(decodeURIComponent) : [];
  const auth = { ...(user ? { username: user } : {}), ...(password ? { password } : {}) };
  const ca = settings.ca ? readFileSync(settings.ca) : undefined;
  const common: RedisOptions = {
    ...auth,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS * 2,
    // Fail at once while disconnected (503 for new work) rather than queue until Redis returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Try again every half second, then every two: the process recovers by itself.
    retryStrategy: (times) => Math.min(500 * times, 2000),
    // After a failover the old primary, now a replica, refuses writes: find the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    lazyConnect: true,
  };
  if (scheme === 'redis-sentinel') {
    if (!path) throw new Error('a redis-sentinel:// URL ends with /MASTERNAME');
    return {
      ...common,
      sentinels: hosts.split(',').map((h) => hostPort(h, url)),
      name: decodeURIComponent(path),
      ...(password ? { sentinelPassword: password } : {}),
      ...(ca ? { tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true } : {}),
    };
  }
  if (hosts.includes(',')) throw new Error('name one host (several hosts are for redis-sentinel://)');
  const db = path ? Number(path) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`the database "${path}" must be a number`);
  const { host, port } = hostPort(hosts, url);
  return {
    ...common,
    host,
    port,
    db,
    // SNI carries host names only; a certificate for an IP address is checked without it.
    ...(scheme === 'rediss' ? { tls: { ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) } } : {}),
  };
}

/** A client, not yet connected (connect() it); the same settings give another (pub/sub needs its own). */
export function redisClient(settings: RedisSettings): Redis {
  return new Redis(redisOptions(settings));
}
