// Shared state on Redis, as both halves use it: one client, every key under one prefix (so that
// deployments sharing a Redis never read each other's keys), every call turned into a
// SharedStateError when Redis cannot answer, and stored data checked before it is believed.
import type { Redis } from 'ioredis';
import { SharedStateError } from '../contract/shared-state.js';

export class RedisStore {
  constructor(
    readonly redis: Redis,
    /** Every key starts with it (config `redis.prefix`, default `porthole:`). */
    readonly prefix: string,
  ) {}

  /** The full name of a key: the prefix, then the parts joined by colons. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Runs Redis commands; any failure (unreachable, too slow, refused) becomes a SharedStateError naming `what`. */
  async call<T>(what: string, run: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await run(this.redis);
    } catch (error) {
      if (error instanceof SharedStateError) throw error;
      throw new SharedStateError(`Redis: ${what}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Stored data that is not what Porthole wrote: refused with a clear error, never believed. */
export function unreadable(key: string, why: string): SharedStateError {
  return new SharedStateError(`Redis key ${key} holds data Porthole cannot read (${why}): refused`);
}

/** A stored JSON value, checked by `valid`; undefined when the key is absent. */
export function readJson<T>(key: string, text: string | null | undefined, valid: (value: unknown) => value is T): T | undefined {
  if (text === null || text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unreadable(key, 'not JSON');
  }
  if (!valid(value)) throw unreadable(key, 'not the expected record');
  return value;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A transaction's first failed command, thrown. */
export function failedIn(results: Array<[Error | null, unknown]> | null): void {
  if (!results) throw new Error('the transaction was aborted');
  for (const [error] of results) if (error) throw error;
}
