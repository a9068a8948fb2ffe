// How fast one browser takes what the proxy sends it, and so how much the proxy may hold for it:
// the backlog towards a browser is bounded by time (a key's echo waits behind at most
// `budgetMs` of picture at that browser's own rate), not by a fixed number of bytes that is
// nothing on a LAN and seconds on a slow line.
//
// The rate is measured only over intervals in which bytes were waiting throughout: that is
// the browser's capacity. An interval without a backlog says nothing about it: what left then
// went into the kernel's socket buffers at once, however slow the line behind them.

/** Intervals shorter than this say little (timer and scheduling noise). */
const MIN_INTERVAL_MS = 10;
/** Time constant of the average: a measurement this long weighs 63 %, a longer one nearly all. */
const TAU_MS = 100;

export class BrowserDrain {
  /** Bytes per millisecond: at first the rate at which `initial` is `budgetMs` (a prior, so that one short first interval cannot set it alone). */
  #rate: number;
  #measured = false;
  #at = 0;
  #drained = 0;
  #backlog = false;

  /**
   * @param budgetMs how long a backlog may take to drain at the measured rate
   * @param floor fewest bytes held before pausing, whatever the rate (so a slow measurement never stalls a session)
   * @param ceiling most bytes held, whatever the rate
   * @param initial bytes held before the first measurement
   */
  constructor(
    readonly budgetMs: number,
    readonly floor: number,
    readonly ceiling: number,
    readonly initial: number,
  ) {
    this.#rate = initial / budgetMs;
  }

  /** Bytes the proxy may hold towards this browser before it stops reading the display. */
  get bound(): number {
    if (!this.#measured) return this.initial;
    return Math.min(this.ceiling, Math.max(this.floor, this.#rate * this.budgetMs));
  }

  /** The measured rate in bytes per second (0 until measured). */
  get bytesPerSecond(): number {
    return this.#measured ? this.#rate * 1000 : 0;
  }

  /**
   * @param now milliseconds (performance.now())
   * @param drained bytes the browser's socket has taken so far, in total
   * @param buffered bytes still waiting now
   * @param edge this sample is where a backlog starts (the relay pauses) or ends (it is flushed):
   *   never skipped, however short the interval, and the interval ending here had a backlog to
   *   its end
   */
  observe(now: number, drained: number, buffered: number, edge = false): void {
    const dt = now - this.#at;
    if (this.#at !== 0 && dt < MIN_INTERVAL_MS && !edge) return;
    if (this.#at !== 0 && dt > 0) {
      const rate = (drained - this.#drained) / dt;
      const throughout = this.#backlog && (buffered > 0 || edge);
      if (throughout) {
        this.#rate += (1 - Math.exp(-dt / TAU_MS)) * (rate - this.#rate);
        this.#measured = true;
      }
    }
    this.#at = now;
    this.#drained = drained;
    this.#backlog = buffered > 0;
  }
}
