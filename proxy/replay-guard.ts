// Single use: remembers each token id until its token expires, so a token that was used once
// is refused afterwards. Memory is bounded by the tokens issued within one token lifetime.
import { CLOCK_TOLERANCE_SECONDS } from './token-verifier.js';

/** Where used token ids are kept: this process (ReplayGuard), or shared by every node (Redis). */
export interface UsedTokens {
  /** True the first time a jti is claimed anywhere; false on every later attempt. */
  claim(jti: string, expiresAtSeconds: number): Promise<boolean>;
}

/** How long after its token's expiry a used id must still be remembered. */
export function forgetAfterMs(expiresAtSeconds: number): number {
  return (expiresAtSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
}

export class ReplayGuard implements UsedTokens {
  readonly #used = new Map<string, number>(); // jti -> forget after (ms since epoch)
  #nextSweep = 0;

  async claim(jti: string, expiresAtSeconds: number, now = Date.now()): Promise<boolean> {
    this.#sweep(now);
    if (this.#used.has(jti)) return false;
    this.#used.set(jti, forgetAfterMs(expiresAtSeconds));
    return true;
  }

  get size(): number {
    return this.#used.size;
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1000;
    for (const [jti, until] of this.#used) if (until < now) this.#used.delete(jti);
  }
}
