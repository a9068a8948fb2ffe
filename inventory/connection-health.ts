// Whether a hypervisor's libvirt connection is up, and when to try again after it was lost:
// connected, reconnecting (lost, retries under way), or down (the retries keep failing), each
// since when and with libvirt's reason. The retries back off (0.5 s doubling to 30 s, with
// jitter so that several processes do not knock together), so a host that is down costs one
// attempt per backoff step, not one per request. Pure logic: the clock is passed in.

export type HypervisorState = 'connected' | 'reconnecting' | 'down';

export interface HypervisorCondition {
  state: HypervisorState;
  /** When this state began. */
  since: Date;
  /** libvirt's reason, while not connected. */
  reason?: string;
  /** Failed attempts since the connection was lost (or since the first attempt). */
  failedAttempts: number;
}

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** A lost connection that failed this many reconnection attempts is down. */
export const DOWN_AFTER_ATTEMPTS = 3;

export class ConnectionHealth {
  #condition: HypervisorCondition;
  /** The host was never reached: a first failure is down at once, not a reconnection. */
  #everConnected = false;

  constructor(
    now: Date,
    readonly random: () => number = Math.random,
  ) {
    // Not tried yet: reported as reconnecting until the first attempt answers.
    this.#condition = { state: 'reconnecting', since: now, failedAttempts: 0 };
  }

  get condition(): Readonly<HypervisorCondition> {
    return this.#condition;
  }

  get tried(): boolean {
    return this.#everConnected || this.#condition.failedAttempts > 0;
  }

  connected(now: Date): void {
    this.#everConnected = true;
    if (this.#condition.state !== 'connected') this.#condition = { state: 'connected', since: now, failedAttempts: 0 };
  }

  /** A connection that worked failed: reconnecting from now. */
  lost(now: Date, reason: string): void {
    if (this.#condition.state !== 'connected') return;
    this.#condition = { state: 'reconnecting', since: now, reason, failedAttempts: 0 };
  }

  /** An attempt to (re)open the connection failed. */
  attemptFailed(now: Date, reason: string): void {
    const failedAttempts = this.#condition.state === 'connected' ? 1 : this.#condition.failedAttempts + 1;
    const down = !this.#everConnected || failedAttempts >= DOWN_AFTER_ATTEMPTS;
    const state: HypervisorState = down ? 'down' : 'reconnecting';
    const since = state === this.#condition.state ? this.#condition.since : now;
    this.#condition = { state, since, reason, failedAttempts };
  }

  /** How long to wait before the next attempt: doubling from BACKOFF_FIRST_MS, at most BACKOFF_MAX_MS, ±20 %. */
  nextDelayMs(): number {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(this.#condition.failedAttempts, 16));
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }
}
