// Waits with deadlines, for tests and the test bed: a wait for a condition or a promise that
// fails with a message naming what was awaited, instead of a fixed sleep or a hang.
import { setTimeout as sleep } from 'node:timers/promises';

/** `promise`, or an error naming `what` once `ms` have passed (the timer never keeps the process alive). */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  const raced = Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  raced.catch(() => {}); // handled by whoever awaits it; no unhandled rejection if nobody does
  return raced;
}

/**
 * Polls `condition` until it holds, for at most `ms` (generous: a deadline against hangs, not a
 * performance check); returns how long it took, for tests that print it as a figure.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 20): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}

/**
 * Probes until `done` holds for what `probe` gives, for at most `ms`, and returns that value;
 * on a timeout the error names `what` and the last value seen.
 */
export async function waitForValue<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  ms: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await sleep(everyMs);
  }
}
