// Whether this process can reach its shared state: the client's connection events, and a PING
// every second (a Redis that is connected but does not answer, such as a paused process, counts
// as unreachable once a PING times out). While it cannot, the process fails closed; it serves
// again by itself at the first answer.
import type { Redis } from 'ioredis';
import { STATE_UNAVAILABLE } from '../contract/shared-state.js';

/** One PING's round trip, or an error: of the connection (an ioredis 'error' event) or of a PING. */
export type RedisProbe = { seconds: number; error?: undefined } | { error: 'connection' | 'ping'; seconds?: undefined };

export class RedisHealth {
  #up: boolean;
  #lastError = '';
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(up: boolean, why: string) => void>();
  readonly #probes = new Set<(probe: RedisProbe) => void>();

  constructor(
    readonly redis: Redis,
    everyMs = 1000,
  ) {
    this.#up = redis.status === 'ready';
    redis.on('ready', () => void this.#ping());
    redis.on('close', () => this.#set(false, 'the connection closed'));
    redis.on('error', (error: Error) => {
      this.#lastError = error.message;
      this.#report({ error: 'connection' });
    });
    this.#timer = setInterval(() => void this.#ping(), everyMs);
    this.#timer.unref();
  }

  get up(): boolean {
    return this.#up;
  }

  /** Why Redis is unreachable, in words for a log (undefined while it answers). */
  get problem(): string | undefined {
    return this.#up ? undefined : this.#lastError || 'no answer yet';
  }

  /** The sentence for a person while Redis cannot be reached. */
  refusal(): string | undefined {
    return this.#up ? undefined : STATE_UNAVAILABLE;
  }

  /** Called on every change, with the reason when it went down. */
  onChange(listener: (up: boolean, why: string) => void): void {
    this.#listeners.add(listener);
  }

  /** Called after every PING (its round trip) and on every client error: what metrics count. */
  onProbe(listener: (probe: RedisProbe) => void): void {
    this.#probes.add(listener);
  }

  async #ping(): Promise<void> {
    if (this.redis.status !== 'ready') return this.#set(false, this.#lastError || `connection ${this.redis.status}`);
    const started = process.hrtime.bigint();
    try {
      await this.redis.ping();
      this.#report({ seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      this.#set(true, '');
    } catch (error) {
      this.#lastError = (error as Error).message;
      this.#report({ error: 'ping' });
      this.#set(false, this.#lastError);
    }
  }

  #report(probe: RedisProbe): void {
    for (const listener of this.#probes) listener(probe);
  }

  #set(up: boolean, why: string): void {
    if (up === this.#up) return;
    this.#up = up;
    for (const listener of this.#listeners) listener(up, why);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
