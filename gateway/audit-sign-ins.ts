// Who signed in lately, from the audit trail, without reading the whole trail on every look:
// the admin console's user list asks on each refresh. The file trail keeps this index in memory
// (built by one read of the trail, then fed by every sign-in recorded); the Redis trail keeps its
// own in Redis (gateway/state/redis-audit-trail.ts).
import type { RecordedEvent } from '../contract/audit.js';

/** What the user list shows of one user's sign-ins. */
export interface SignInSummary {
  /** Sign-ins within the window. */
  count: number;
  /** The newest few, oldest first. */
  last: Array<{ at: string; client?: string }>;
}

/** How far back the user list looks, in days (the Redis index keeps this much and no more). */
export const SIGN_IN_WINDOW_DAYS = 30;

/** Whether an audit event is a sign-in of a named user (the one kind the index keeps). */
export function isSignIn(event: { event: string; user?: unknown }): event is RecordedEvent & { user: string } {
  return event.event === 'sign-in' && typeof event.user === 'string' && event.user !== '';
}

export class SignInIndex {
  /** Per user, their sign-ins oldest first. */
  readonly #byUser = new Map<string, Array<{ ms: number; at: string; client?: string }>>();

  #from: number;

  constructor(from: number) {
    this.#from = from;
  }

  /** The index holds every sign-in from this time on (what it was built from, or pruned to). */
  get from(): number {
    return this.#from;
  }

  add(event: RecordedEvent): void {
    if (!isSignIn(event)) return;
    const ms = Date.parse(event.at);
    if (!(ms >= this.#from)) return;
    const list = this.#byUser.get(event.user) ?? [];
    list.push({ ms, at: event.at, ...(typeof event.client === 'string' ? { client: event.client } : {}) });
    this.#byUser.set(event.user, list);
  }

  /** Users with a sign-in at or after `since` (not earlier than `from`), with their newest `shown`. */
  summary(since: number, shown: number): Map<string, SignInSummary> {
    const found = new Map<string, SignInSummary>();
    this.#from = Math.max(this.#from, since);
    for (const [user, list] of this.#byUser) {
      // Sign-ins older than the window will never be asked for again: dropped, so the index stays small.
      let old = 0;
      while (old < list.length && list[old]!.ms < this.#from) old++;
      if (old > 0) list.splice(0, old);
      if (list.length === 0) {
        this.#byUser.delete(user);
        continue;
      }
      found.set(user, { count: list.length, last: list.slice(-shown).map(({ at, client }) => ({ at, ...(client ? { client } : {}) })) });
    }
    return found;
  }
}
