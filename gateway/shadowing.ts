// Helpdesk shadowing: a helpdesk person asks to watch a live session; its user is asked in their
// viewer and accepts or refuses; while accepted the asker may open a VNC view of the desktop
// (view-only unless the user granted control); either side ends it. Every step is audited.
// A watched session that ends because its desktop moved host is followed, not ended: its user's
// viewer reconnects to the new host by itself, and the request moves on to that new session (the
// user's yes was for this desktop and this viewer, which go on; the banner shows all along).
// The requests are kept in a ShadowRecords store: this process's memory, or shared state that
// every node reads (an answer given through one node counts on all).
import { randomUUID } from 'node:crypto';
import type { AuditTrail } from '../contract/audit.js';
import type { DisplayTokenClaims } from '../contract/display-token.js';

export type ShadowState = 'pending' | 'accepted' | 'refused' | 'ended';

export interface ShadowRequest {
  id: string;
  asker: string;
  /** The live session being watched, its user and desktop. */
  session: string;
  user: string;
  desktop: string;
  /** Asked for control, not only to watch. */
  control: boolean;
  state: ShadowState;
  requestedAt: string;
  answeredAt?: string;
  endedAt?: string;
  /**
   * The watched session ended because its desktop moved host: the request waits, until `until`,
   * for the next session of the same user, desktop and browser (its sign-in binding, `bsh`).
   */
  moving?: { until: string; browser?: string };
}

/** A session as the shadowing follows it: its id and the claims of its token. */
export interface WatchedSession {
  id: string;
  claims: Pick<DisplayTokenClaims, 'sub' | 'desktop' | 'bsh' | 'shadow'>;
}

/** Where requests are kept; each one is forgotten `keepMs` after it was last put. */
export interface ShadowRecords {
  put(request: ShadowRequest, keepMs: number): Promise<void>;
  get(id: string): Promise<ShadowRequest | undefined>;
  /** Requests about this user's sessions, and about this session, in any state. */
  ofUser(user: string): Promise<ShadowRequest[]>;
  ofSession(session: string): Promise<ShadowRequest[]>;
}

/** A pending request that nobody answers lapses after this long. */
export const PENDING_TTL_MS = 2 * 60_000;
/** Finished requests are forgotten after this long (the audit log keeps them). */
const KEEP_MS = 10 * 60_000;
/** An accepted request lasts while its session does; this bounds what a lost notice leaves behind. */
const ACCEPTED_KEEP_MS = 24 * 3600_000;
/**
 * How long a request waits for its user's viewer after the desktop moved host: the viewer's first
 * attempts come within a few seconds (web/src/session-end.ts's backoff: six tries in 30 s).
 */
export const MOVE_FOLLOW_MS = 60_000;

/** This process's requests, in memory. */
export class MemoryShadowRecords implements ShadowRecords {
  readonly #byId = new Map<string, { request: ShadowRequest; until: number }>();

  constructor(readonly clock: () => number = Date.now) {}

  async put(request: ShadowRequest, keepMs: number): Promise<void> {
    this.#sweep();
    this.#byId.set(request.id, { request: { ...request }, until: this.clock() + keepMs });
  }

  async get(id: string): Promise<ShadowRequest | undefined> {
    this.#sweep();
    const found = this.#byId.get(id);
    return found && { ...found.request };
  }

  async ofUser(user: string): Promise<ShadowRequest[]> {
    this.#sweep();
    return [...this.#byId.values()].filter((r) => r.request.user === user).map((r) => ({ ...r.request }));
  }

  async ofSession(session: string): Promise<ShadowRequest[]> {
    this.#sweep();
    return [...this.#byId.values()].filter((r) => r.request.session === session).map((r) => ({ ...r.request }));
  }

  #sweep(): void {
    const now = this.clock();
    for (const [id, r] of this.#byId) if (r.until < now) this.#byId.delete(id);
  }
}

const SESSION_ENDED = 'The session you were watching has ended: its user left or was disconnected.';

export class ShadowRequests {
  readonly records: ShadowRecords;

  constructor(
    readonly audit: AuditTrail,
    /** Closes the watchers' connections of an ended request, wherever they are. */
    readonly endWatchers: (requestId: string, reason: string) => void | Promise<unknown>,
    /** Milliseconds since the epoch; tests move it. */
    readonly clock: () => number = Date.now,
    records?: ShadowRecords,
  ) {
    this.records = records ?? new MemoryShadowRecords(clock);
  }

  #now(): string {
    return new Date(this.clock()).toISOString();
  }

  async ask(asker: string, target: { session: string; user: string; desktop: string }, control: boolean): Promise<ShadowRequest> {
    const request: ShadowRequest = {
      id: randomUUID(),
      asker,
      ...target,
      control,
      state: 'pending',
      requestedAt: this.#now(),
    };
    await this.records.put(request, PENDING_TTL_MS + KEEP_MS);
    this.audit.record({
      event: 'shadow.requested',
      request: request.id,
      asker,
      user: target.user,
      desktop: target.desktop,
      session: target.session,
      control,
    });
    return request;
  }

  async get(id: string): Promise<ShadowRequest | undefined> {
    const found = await this.records.get(id);
    return found && this.#lapse(found);
  }

  /** Requests about this user's sessions that are waiting or running. */
  async forUser(user: string): Promise<ShadowRequest[]> {
    const found = await Promise.all((await this.records.ofUser(user)).map((r) => this.#lapse(r)));
    return found.filter((r) => r.state === 'pending' || r.state === 'accepted');
  }

  /** Helpdesk names watching a session now. */
  async watchers(session: string): Promise<string[]> {
    return (await this.records.ofSession(session)).filter((r) => r.session === session && r.state === 'accepted').map((r) => r.asker);
  }

  async answer(request: ShadowRequest, accept: boolean): Promise<void> {
    request.state = accept ? 'accepted' : 'refused';
    request.answeredAt = this.#now();
    await this.records.put(request, accept ? ACCEPTED_KEEP_MS : KEEP_MS);
    this.audit.record({
      event: accept ? 'shadow.accepted' : 'shadow.refused',
      request: request.id,
      asker: request.asker,
      user: request.user,
      desktop: request.desktop,
      control: request.control,
    });
  }

  /** Ends a request; the watchers' connections close. */
  async end(
    request: ShadowRequest,
    by: string,
    reason = by === request.user ? 'The user ended the screen sharing.' : 'The screen sharing has ended.',
  ): Promise<void> {
    if (request.state === 'ended') return;
    const wasAccepted = request.state === 'accepted';
    request.state = 'ended';
    request.endedAt = this.#now();
    await this.records.put(request, KEEP_MS);
    this.audit.record({
      event: 'shadow.ended',
      request: request.id,
      by,
      asker: request.asker,
      user: request.user,
      desktop: request.desktop,
      control: request.control,
      watched: wasAccepted,
    });
    await this.endWatchers(request.id, reason);
  }

  /**
   * The watched session's last connection closed (the user left, or was disconnected): its
   * requests end, waiting or running, so nobody watches a desktop its user is no longer at.
   */
  async sessionEnded(session: string): Promise<void> {
    for (const r of await this.#live(session)) await this.end(r, 'session-ended', SESSION_ENDED);
  }

  /**
   * The watched session's desktop moved host (its display closed with `moved`): its requests wait
   * for the user's viewer on the new host (`sessionOpened`), and end if it does not come within
   * MOVE_FOLLOW_MS. Meanwhile the watcher may reconnect too: the user has not left.
   */
  async sessionMoved(session: WatchedSession): Promise<void> {
    for (const r of await this.#live(session.id)) {
      r.moving = {
        until: new Date(this.clock() + MOVE_FOLLOW_MS).toISOString(),
        ...(session.claims.bsh ? { browser: session.claims.bsh } : {}),
      };
      await this.records.put(r, this.#keepMs(r));
      // Ended then if nobody came back (a later read ends it as well, should this process stop).
      setTimeout(() => void this.get(r.id).catch(() => {}), MOVE_FOLLOW_MS + 1000).unref();
    }
  }

  /** A session opened: requests waiting for this user's viewer on this desktop (it moved host) follow it. */
  async sessionOpened(session: WatchedSession): Promise<void> {
    const { claims } = session;
    if (claims.shadow) return; // a watcher's own connection
    for (const found of await this.records.ofUser(claims.sub)) {
      const r = await this.#lapse(found);
      if (!r.moving || r.desktop !== claims.desktop || r.moving.browser !== claims.bsh) continue;
      if (r.state !== 'pending' && r.state !== 'accepted') continue;
      const from = r.session;
      r.session = session.id;
      delete r.moving;
      await this.records.put(r, this.#keepMs(r));
      this.audit.record({
        event: 'shadow.followed',
        request: r.id,
        asker: r.asker,
        user: r.user,
        desktop: r.desktop,
        from,
        to: session.id,
      });
    }
  }

  /** The requests about this session that are waiting or running. */
  async #live(session: string): Promise<ShadowRequest[]> {
    // A request that followed its user to a new session is still indexed under the old one.
    return (await this.records.ofSession(session)).filter(
      (r) => r.session === session && (r.state === 'pending' || r.state === 'accepted'),
    );
  }

  #keepMs(r: ShadowRequest): number {
    return r.state === 'accepted' ? ACCEPTED_KEEP_MS : PENDING_TTL_MS + KEEP_MS;
  }

  /**
   * Nobody answered: the request ends, which the helpdesk is told apart from a refusal. Or the
   * desktop moved host and its user's viewer did not follow in time: it ends as its session did.
   */
  async #lapse(r: ShadowRequest): Promise<ShadowRequest> {
    if (r.moving && (r.state === 'pending' || r.state === 'accepted') && this.clock() > Date.parse(r.moving.until)) {
      await this.end(r, 'session-ended', SESSION_ENDED);
      return r;
    }
    if (r.state !== 'pending' || this.clock() - Date.parse(r.requestedAt) <= PENDING_TTL_MS) return r;
    r.state = 'ended';
    r.endedAt = this.#now();
    await this.records.put(r, KEEP_MS);
    this.audit.record({ event: 'shadow.lapsed', request: r.id, asker: r.asker, user: r.user, desktop: r.desktop });
    return r;
  }
}
