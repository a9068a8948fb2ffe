// Helpdesk shadowing: a helpdesk person asks to watch a live session; its user is asked in their
// viewer and accepts or refuses; while accepted the asker may open a VNC view of the desktop
// (view-only unless the user granted control); either side ends it. Every step is audited.
// The requests are kept in a ShadowRecords store: this process's memory, or shared state that
// every node reads (an answer given through one node counts on all).
import { randomUUID } from 'node:crypto';
import type { AuditTrail } from '../contract/audit.js';

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
    return (await this.records.ofSession(session)).filter((r) => r.state === 'accepted').map((r) => r.asker);
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
    for (const r of await this.records.ofSession(session)) {
      if (r.state !== 'pending' && r.state !== 'accepted') continue;
      await this.end(r, 'session-ended', 'The session you were watching has ended: its user left or was disconnected.');
    }
  }

  /** Nobody answered: the request ends, which the helpdesk is told apart from a refusal. */
  async #lapse(r: ShadowRequest): Promise<ShadowRequest> {
    if (r.state !== 'pending' || this.clock() - Date.parse(r.requestedAt) <= PENDING_TTL_MS) return r;
    r.state = 'ended';
    r.endedAt = this.#now();
    await this.records.put(r, KEEP_MS);
    this.audit.record({ event: 'shadow.lapsed', request: r.id, asker: r.asker, user: r.user, desktop: r.desktop });
    return r;
  }
}
