// How long checking a local password takes on this machine now, so that a sign-in with no local
// password to check (an unknown name, a directory user) takes as long without doing the work.
// Verifying a decoy hash for every such name made each directory sign-in pay a full argon2id
// check (0.5-1 s of a core under a storm): waiting costs no CPU. The wait is the median of
// recent real checks, load included, give or take a tenth: a draw from single past checks would
// let a few slow ones decide many answers, and tell names apart more than real checks do.
import argon2 from 'argon2';

/** Enough checks for the spread; old ones age out as the machine's load changes. */
const KEPT = 64;
/** With no real check for this long, one decoy check measures the machine again. */
const STALE_MS = 60_000;

export class PasswordCheckTime {
  readonly #durations: number[] = [];
  #next = 0;
  #measuredAt = 0;
  #decoyHash: Promise<string> | undefined;
  #measuring: Promise<void> | undefined;

  /** Times one real check of a password against its hash. */
  async check(hash: string, password: string): Promise<boolean> {
    const started = performance.now();
    let matches: boolean;
    try {
      matches = await argon2.verify(hash, password);
    } catch {
      return false; // a malformed hash: no check ran, so nothing to time
    }
    this.#record(performance.now() - started);
    return matches;
  }

  /** Waits as long as a check takes here: the recent checks' median, give or take a tenth. */
  async wait(): Promise<void> {
    if (this.#durations.length === 0) {
      await this.measure();
      return; // the measurement was a real check, and took as long as one
    }
    if (Date.now() - this.#measuredAt > STALE_MS) void this.measure();
    const sorted = [...this.#durations].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    await new Promise((resolve) => setTimeout(resolve, median * (0.9 + 0.2 * Math.random())));
  }

  #record(ms: number): void {
    this.#durations[this.#next] = ms;
    this.#next = (this.#next + 1) % KEPT;
    this.#measuredAt = Date.now();
  }

  /**
   * One decoy check, timed; concurrent callers share it. Worth calling at start, so that the
   * first name without a password here does not also wait for the decoy hash to be made.
   */
  measure(): Promise<void> {
    this.#measuring ??= (async () => {
      this.#decoyHash ??= argon2.hash('porthole-decoy-password', { type: argon2.argon2id });
      await this.check(await this.#decoyHash, 'not the decoy password');
    })().finally(() => (this.#measuring = undefined));
    return this.#measuring;
  }
}
