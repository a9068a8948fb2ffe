// Helpdesk shadowing: a helpdesk person asks to watch a live session; its user is asked in their
// viewer and accepts or refuses; while accepted the asker may open a VNC view of the desktop
// (view-only unless the user granted control); either side ends it. Every step is audited.
import { randomUUID } from 'node:crypto';
import type { AuditLog } from './audit-log.js';

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

/** A pending request that nobody answers lapses after this long. */
const PENDING_TTL_MS = 2 * 60_000;
/** Finished requests are forgotten after this long (the audit log keeps them). */
const KEEP_MS = 10 * 60_000;

export class ShadowRequests {
  readonly #byId = new Map<string, ShadowRequest>();

  constructor(
    readonly audit: AuditLog,
    /** Closes the watchers' connections of an ended request. */
    readonly endWatchers: (requestId: string, reason: string) => void,
    /** Milliseconds since the epoch; tests move it. */
    readonly clock: () => number = Date.now,
  ) {}

  #now(): string {
    return new Date(this.clock()).toISOString();
  }

  ask(asker: string, target: { session: string; user: string; desktop: string }, control: boolean): ShadowRequest {
    this.#sweep();
    const request: ShadowRequest = {
      id: randomUUID(),
      asker,
      ...target,
      control,
      state: 'pending',
      requestedAt: this.#now(),
    };
    this.#byId.set(request.id, request);
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

  get(id: string): ShadowRequest | undefined {
    this.#sweep();
    return this.#byId.get(id);
  }

  /** Requests about this user's sessions that are waiting or running. */
  forUser(user: string): ShadowRequest[] {
    this.#sweep();
    return [...this.#byId.values()].filter((r) => r.user === user && (r.state === 'pending' || r.state === 'accepted'));
  }

  /** Helpdesk names watching a session now. */
  watchers(session: string): string[] {
    return [...this.#byId.values()].filter((r) => r.session === session && r.state === 'accepted').map((r) => r.asker);
  }

  answer(request: ShadowRequest, accept: boolean): void {
    request.state = accept ? 'accepted' : 'refused';
    request.answeredAt = this.#now();
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
  end(
    request: ShadowRequest,
    by: string,
    reason = by === request.user ? 'The user ended the screen sharing.' : 'The screen sharing has ended.',
  ): void {
    if (request.state === 'ended') return;
    const wasAccepted = request.state === 'accepted';
    request.state = 'ended';
    request.endedAt = this.#now();
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
    this.endWatchers(request.id, reason);
  }

  /**
   * The watched session's last connection closed (the user left, or was disconnected): its
   * requests end, waiting or running, so nobody watches a desktop its user is no longer at.
   */
  sessionEnded(session: string): void {
    for (const r of this.#byId.values()) {
      if (r.session !== session || (r.state !== 'pending' && r.state !== 'accepted')) continue;
      this.end(r, 'session-ended', 'The session you were watching has ended: its user left or was disconnected.');
    }
  }

  #sweep(): void {
    const now = this.clock();
    for (const [id, r] of this.#byId) {
      // Nobody answered: the request ends, which the helpdesk is told apart from a refusal.
      if (r.state === 'pending' && now - Date.parse(r.requestedAt) > PENDING_TTL_MS) {
        r.state = 'ended';
        r.endedAt = this.#now();
        this.audit.record({ event: 'shadow.lapsed', request: id, asker: r.asker, user: r.user, desktop: r.desktop });
      }
      const finished = r.endedAt ?? (r.state === 'refused' ? r.answeredAt : undefined);
      if (finished && now - Date.parse(finished) > KEEP_MS) this.#byId.delete(id);
    }
  }
}
