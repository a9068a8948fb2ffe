// The audit trail shared by every node, in Redis: one stream, `audit`, each entry one recorded
// event as JSON (field `e`), trimmed on every append to the retention (XADD MINID ~, keepDays)
// so that Redis holds no more than the file trail would. Searches read it newest first and stop
// at the limit or at `since`. The sign-ins the user list shows are indexed beside it, so that a
// refresh of the list does not read the stream: `audit-seen` (a sorted set, user by their last
// sign-in) and `audit-sign-ins:<user>` (their sign-ins, by time), both trimmed to the window.
import { randomBytes } from 'node:crypto';
import type { AuditQuery, RecordedEvent, SharedAuditTrail } from '../audit-log.js';
import { isSignIn, SIGN_IN_WINDOW_DAYS, type SignInSummary } from '../audit-sign-ins.js';
import { failedIn, isObject, RedisStore } from '../../state/redis-store.js';

const DAY_MS = 86_400_000;
/** Entries read per round trip of a search. */
const PAGE = 500;
/**
 * Stream ids are Redis's clock, `at` the recording node's: a search by time starts this much
 * before `since` in ids and then filters by `at`, so that a node's clock a little ahead of
 * Redis's loses none of its events.
 */
const CLOCK_SLACK_MS = 5 * 60_000;

function isRecorded(value: unknown): value is RecordedEvent {
  return isObject(value) && typeof value.at === 'string' && typeof value.event === 'string';
}

function matches(event: RecordedEvent, query: AuditQuery, since: number | undefined): boolean {
  if (since !== undefined && !(Date.parse(event.at) >= since)) return false;
  const user = query.user;
  if (user !== undefined && event.user !== user && event.admin !== user && event.asker !== user) return false;
  return query.desktop === undefined || event.desktop === query.desktop;
}

export class RedisAuditTrail implements SharedAuditTrail {
  constructor(
    readonly store: RedisStore,
    /** Entries older than this are trimmed (config audit.keepDays). */
    readonly keepDays: number,
    /** Called once per search that met entries it could not read (they are left out, never believed). */
    readonly onUnreadable: (count: number) => void = () => {},
  ) {}

  async append(event: RecordedEvent): Promise<void> {
    const { store } = this;
    const now = Date.now();
    const stream = store.key('audit');
    await store.call('appending to the audit trail', (r) => {
      const tx = r.multi().xadd(stream, 'MINID', '~', String(now - this.keepDays * DAY_MS), '*', 'e', JSON.stringify(event));
      if (isSignIn(event)) {
        const windowStart = now - SIGN_IN_WINDOW_DAYS * DAY_MS;
        const mine = store.key('audit-sign-ins', event.user);
        // Unique members: two sign-ins of one user from one address in one millisecond are two.
        const member = JSON.stringify({
          at: event.at,
          ...(event.client ? { client: event.client } : {}),
          n: randomBytes(4).toString('hex'),
        });
        tx.zadd(mine, now, member)
          .zremrangebyscore(mine, '-inf', `(${windowStart}`)
          .pexpire(mine, SIGN_IN_WINDOW_DAYS * DAY_MS)
          .zadd(store.key('audit-seen'), now, event.user)
          .zremrangebyscore(store.key('audit-seen'), '-inf', `(${windowStart}`);
      }
      return tx.exec().then(failedIn);
    });
  }

  async search(query: AuditQuery): Promise<RecordedEvent[]> {
    const limit = query.limit ?? 1000;
    const since = query.since?.getTime();
    const stream = this.store.key('audit');
    const floor = since === undefined ? '-' : String(Math.max(0, since - CLOCK_SLACK_MS));
    const found: RecordedEvent[] = [];
    let unreadable = 0;
    let end = '+';
    while (found.length < limit) {
      const page = await this.store.call('searching the audit trail', (r) => r.xrevrange(stream, end, floor, 'COUNT', PAGE));
      for (const [, fields] of page) {
        const event = this.#parse(fields);
        if (!event) unreadable++;
        else if (matches(event, query, since)) found.push(event);
        if (found.length >= limit) break;
      }
      if (page.length < PAGE) break;
      end = `(${page[page.length - 1]![0]}`;
    }
    if (unreadable > 0) this.onUnreadable(unreadable);
    return found.reverse();
  }

  #parse(fields: string[]): RecordedEvent | undefined {
    if (fields.length !== 2 || fields[0] !== 'e') return undefined;
    try {
      const value: unknown = JSON.parse(fields[1]!);
      return isRecorded(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async signIns(since: Date, shown: number): Promise<Map<string, SignInSummary>> {
    const { store } = this;
    const from = String(since.getTime());
    const users = await store.call('reading who signed in', (r) => r.zrangebyscore(store.key('audit-seen'), from, '+inf'));
    const found = new Map<string, SignInSummary>();
    if (users.length === 0) return found;
    const results = await store.call('reading sign-ins', (r) => {
      const tx = r.pipeline();
      for (const user of users) {
        const mine = store.key('audit-sign-ins', user);
        tx.zcount(mine, from, '+inf').zrange(mine, '+inf', from, 'BYSCORE', 'REV', 'LIMIT', 0, shown);
      }
      return tx.exec().then((answers) => {
        failedIn(answers);
        return answers!.map(([, value]) => value);
      });
    });
    users.forEach((user, i) => {
      const count = results[2 * i];
      const last = results[2 * i + 1];
      const entries: SignInSummary['last'] = [];
      for (const member of (last as string[]).reverse()) {
        try {
          const value: unknown = JSON.parse(member);
          if (isObject(value) && typeof value.at === 'string') {
            entries.push({ at: value.at, ...(typeof value.client === 'string' ? { client: value.client } : {}) });
          }
        } catch {
          // not Porthole's: left out, never believed
        }
      }
      found.set(user, { count: Number(count), last: entries });
    });
    return found;
  }
}
