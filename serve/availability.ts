// This process's availability: serving, or draining after SIGTERM (new work refused, live
// display connections left to end by themselves until the drain's deadline), or, with shared
// state, failing closed while Redis cannot be reached (new work refused; live connections go on).
import type { Availability } from '../contract/availability.js';

export const DRAINING = 'This Porthole server is restarting. Try again in a moment; it will be back, or another server takes over.';

export class ProcessAvailability implements Availability {
  #draining = false;

  /** @param sharedState whether the shared state answers (RedisHealth); none: nothing to wait for */
  constructor(readonly sharedState?: Availability) {}

  get draining(): boolean {
    return this.#draining;
  }

  startDraining(): void {
    this.#draining = true;
  }

  refusal(): string | undefined {
    return this.#draining ? DRAINING : this.sharedState?.refusal();
  }
}
