// Whether this process can reach its shared state: the client's connection events, and a PING
// every second (a Redis that is connected but does not answer, such as a paused process, counts
// as unreachable once a PING times out). While it cannot, the process fails closed; it serves
// again by itself at the first answer.
import type { Redis } from 'ioredis';
import { STATE_UNAVAILABLE } from '../contract/shared-state.js';

export class RedisHealth {
  #up: boolean;
  #lastError = '';
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(up: boolean, why: string) => void>();

  constructor(
    readonly redis: Redis,
    everyMs = 1000,
  ) {
    this.#up = redis.status === 'ready';
    redis.on('ready', () => void this.#ping());
    redis.on('close', () => this.#set(false, 'the connection closed'));
    redis.on('error', (error: Error) => (this.#lastError = error.message));
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

  async #ping(): Promise<void> {
    if (this.redis.status !== 'ready') return this.#set(false, this.#lastError || `connection ${this.redis.status}`);
    try {
      await this.redis.ping();
      this.#set(true, '');
    } catch (error) {
      this.#lastError = (error as Error).message;
      this.#set(false, this.#lastError);
    }
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
