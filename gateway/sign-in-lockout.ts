// Account lockout against password guessing spread over many addresses, which the rate limit per
// address and name cannot see. Failed sign-ins are counted per user name from anywhere; names
// that do not exist are counted alike, so a lockout tells nothing about who has an account.
// Kept in the state database (PORTHOLE_DATA/state.db) when given one, so a restart lifts no lock;
// the attempts under way are counted in memory only.
import type { StatementSync } from 'node:sqlite';
import type { StateDatabase } from './state-database.js';

export interface LockoutPolicy {
  /** Failed sign-ins in a row that lock a name. */
  threshold: number;
  /** The first lock; each further one lasts twice as long as the one before... */
  firstLockMs: number;
  /** ...up to this. */
  maxLockMs: number;
  /** A name quiet this long (no failure, no lock) is forgotten: its next lock is a first one again. */
  forgetAfterMs: number;
  /** Names remembered at most, so that guessing many names cannot fill the memory. */
  maxNames: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  threshold: 5,
  firstLockMs: 5 * 60_000,
  maxLockMs: 60 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
  maxNames: 100_000,
};

/** Why a sign-in is refused before its password is checked, and for how long. */
export interface Refusal {
  /** `locked`: too many failures; `busy`: as many attempts under way as the name has failures left. */
  reason: 'locked' | 'busy';
  retryAfterMs: number;
}

/** A lock that a failed sign-in has just started. */
export interface Lock {
  until: number;
  durationMs: number;
  /** How many times the name has been locked, this one included. */
  count: number;
}

interface NameState {
  /** Failed sign-ins in a row since the last lock or success. */
  failures: number;
  /** Admitted attempts whose password is being checked. */
  underWay: number;
  /** Locks so far, for the doubling. */
  locks: number;
  /** 0 when never locked. */
  lockedUntil: number;
  lastFailure: number;
}

/** Idle names are swept out at most this often (and whenever the map is full). */
const SWEEP_EVERY_MS = 60 * 60_000;
/** How soon to retry a name that is `busy`: a password check takes well under a second. */
const BUSY_RETRY_MS = 5_000;

/** Where lockouts are counted: this process (SignInLockout), or shared state every node reads. */
export interface LockoutStore {
  /**
   * undefined when `username` may try a password now (the attempt is then under way until
   * `settle`); otherwise why not and for how long.
   */
  admit(username: string): Promise<Refusal | undefined>;
  /**
   * The end of an admitted attempt: `true` signed in (the count starts again), `false` wrong
   * password, `undefined` no answer (the password could not be checked; not counted). Returns
   * the lock when this failure started one.
   */
  settle(username: string, signedIn: boolean | undefined): Promise<Lock | undefined>;
  /** Lifts the lock on `username` and clears its count; false when it is not locked. */
  unlock(username: string): Promise<boolean>;
}

/** The lock a name's `locks`-th lock lasts: doubling from the first, up to the policy's most. */
export function lockDurationMs(policy: LockoutPolicy, locks: number): number {
  return Math.min(policy.maxLockMs, policy.firstLockMs * 2 ** (locks - 1));
}

/**
 * Failed sign-ins per user name, and the locks they lead to. A sign-in asks `admit` before its
 * password is checked and reports the result to `settle`. Attempts under way count against the
 * threshold, so that many guesses sent at once from many addresses cannot all be checked before
 * the first failures are counted.
 */
export class SignInLockout implements LockoutStore {
  /** In order of last activity, least recent first (re-inserted on each change). */
  readonly #names = new Map<string, NameState>();
  readonly #policy: LockoutPolicy;
  readonly #now: () => number;
  #lastSweep: number;
  /** Where failures and locks are kept across a restart; undefined: memory only. */
  readonly #save: StatementSync | undefined;
  readonly #forget: StatementSync | undefined;

  /** @param options.state the state database (PORTHOLE_DATA/state.db): locks survive a restart */
  constructor(options: Partial<LockoutPolicy> & { clock?: () => number; state?: StateDatabase } = {}) {
    const { clock = Date.now, state, ...policy } = options;
    this.#policy = { ...DEFAULT_LOCKOUT_POLICY, ...policy };
    this.#now = clock;
    this.#lastSweep = clock();
    if (state) {
      this.#save = state.db.prepare(`INSERT INTO lockouts (name, failures, locks, locked_until, last_failure) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET failures = excluded.failures, locks = excluded.locks, locked_until = excluded.locked_until,
        last_failure = excluded.last_failure`);
      this.#forget = state.db.prepare('DELETE FROM lockouts WHERE name = ?');
      const rows = state.db
        .prepare('SELECT name, failures, locks, locked_until, last_failure FROM lockouts ORDER BY last_failure')
        .all() as Array<{ name: string; failures: number; locks: number; locked_until: number; last_failure: number }>;
      for (const r of rows) {
        this.#names.set(r.name, {
          failures: r.failures,
          underWay: 0,
          locks: r.locks,
          lockedUntil: r.locked_until,
          lastFailure: r.last_failure,
        });
      }
    }
  }

  /** Keeps the lasting part of a name's state (not the attempts under way), or forgets it. */
  #persist(username: string, state: NameState | undefined): void {
    if (state && (state.failures > 0 || state.locks > 0))
      this.#save?.run(username, state.failures, state.locks, state.lockedUntil, state.lastFailure);
    else this.#forget?.run(username);
  }

  /** Names remembered now. */
  get size(): number {
    return this.#names.size;
  }

  async admit(username: string): Promise<Refusal | undefined> {
    const now = this.#now();
    const state = this.#current(username, now);
    if (state && state.lockedUntil > now) return { reason: 'locked', retryAfterMs: state.lockedUntil - now };
    if (state && state.failures + state.underWay >= this.#policy.threshold) return { reason: 'busy', retryAfterMs: BUSY_RETRY_MS };
    const admitted = state ?? this.#add(username, now);
    admitted.underWay++;
    return undefined;
  }

  async settle(username: string, signedIn: boolean | undefined): Promise<Lock | undefined> {
    const now = this.#now();
    const state = this.#names.get(username);
    if (!state) return undefined; // pushed out while its password was checked
    state.underWay = Math.max(0, state.underWay - 1);
    let lock: Lock | undefined;
    if (signedIn === true) {
      Object.assign(state, { failures: 0, locks: 0, lockedUntil: 0 });
    } else if (signedIn === false && state.lockedUntil <= now) {
      state.failures++;
      state.lastFailure = now;
      if (state.failures >= this.#policy.threshold) lock = this.#lock(state, now);
    }
    this.#keepOrForget(username, state);
    return lock;
  }

  async unlock(username: string): Promise<boolean> {
    const now = this.#now();
    const state = this.#current(username, now);
    if (!state || state.lockedUntil <= now) return false;
    Object.assign(state, { failures: 0, locks: 0, lockedUntil: 0 });
    this.#keepOrForget(username, state);
    return true;
  }

  #lock(state: NameState, now: number): Lock {
    state.locks++;
    const durationMs = lockDurationMs(this.#policy, state.locks);
    state.lockedUntil = now + durationMs;
    state.failures = 0; // counted afresh once the lock lapses
    return { until: state.lockedUntil, durationMs, count: state.locks };
  }

  /** The name's state, unless there is none or it has been quiet long enough to forget. */
  #current(username: string, now: number): NameState | undefined {
    const state = this.#names.get(username);
    if (state && this.#forgettable(state, now)) {
      this.#names.delete(username);
      return undefined;
    }
    return state;
  }

  #add(username: string, now: number): NameState {
    if (now - this.#lastSweep >= SWEEP_EVERY_MS || this.#names.size >= this.#policy.maxNames) this.#sweep(now);
    if (this.#names.size >= this.#policy.maxNames) this.#pushOut(now);
    const state: NameState = { failures: 0, underWay: 0, locks: 0, lockedUntil: 0, lastFailure: now };
    this.#names.set(username, state);
    return state;
  }

  /** Re-inserted as the most recent, or dropped when it holds nothing. */
  #keepOrForget(username: string, state: NameState): void {
    this.#names.delete(username);
    if (state.failures > 0 || state.underWay > 0 || state.locks > 0) this.#names.set(username, state);
    this.#persist(username, state);
  }

  #forgettable(state: NameState, now: number): boolean {
    return state.underWay === 0 && now - Math.max(state.lastFailure, state.lockedUntil) > this.#policy.forgetAfterMs;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [name, state] of this.#names) {
      if (!this.#forgettable(state, now)) continue;
      this.#names.delete(name);
      this.#persist(name, undefined);
    }
  }

  /** Makes room: the least recent name that is neither locked nor being checked, else the least recent. */
  #pushOut(now: number): void {
    for (const [name, state] of this.#names) {
      if (state.lockedUntil <= now && state.underWay === 0) {
        this.#names.delete(name);
        this.#persist(name, undefined);
        return;
      }
    }
    const oldest = this.#names.keys().next();
    if (!oldest.done) {
      this.#names.delete(oldest.value);
      this.#persist(oldest.value, undefined);
    }
  }
}
