// This process's availability: serving, or draining after SIGTERM (new work refused, live
// display connections left to end by themselves until the drain's deadline).
import type { Availability } from '../contract/availability.js';

export const DRAINING = 'This Porthole server is restarting. Try again in a moment; it will be back, or another server takes over.';

export class ProcessAvailability implements Availability {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  startDraining(): void {
    this.#draining = true;
  }

  refusal(): string | undefined {
    return this.#draining ? DRAINING : undefined;
  }
}
