// The sessions the proxy carries right now: who is connected to which desktop, over what, since
// when. A session is one or more connections (SPICE: one per channel) sharing a token.
import { randomUUID } from 'node:crypto';
import type { DisplayTokenClaims } from '../contract/display-token.js';
import {
  matchesSession,
  type LiveSessionDirectory,
  type LiveSessionHandle,
  type LiveSessionInfo,
  type SessionMatch,
} from '../contract/live-sessions.js';
import type { Relay, RelayEnd } from './relay.js';

export class LiveSession implements LiveSessionHandle {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  readonly relays = new Set<Relay>();
  /** Bytes of connections that have closed, so that the session's totals survive them. */
  #closedToClient = 0;
  #closedToDisplay = 0;
  /** How its last connection ended, once it has: why the session ended (the browser left, the desktop moved, ...). */
  ending?: { code: number; reason: string };

  constructor(
    readonly key: string,
    readonly claims: DisplayTokenClaims,
  ) {}

  /** Closes every connection of the session with the given reason. */
  close(code: number, reason: string): void {
    for (const relay of this.relays) relay.close(code, reason);
  }

  async end(code: number, reason: string): Promise<void> {
    this.close(code, reason);
  }

  /** Takes a closed connection out, keeping what it carried in the session's totals. */
  remove(relay: Relay): void {
    if (!this.relays.delete(relay)) return;
    this.#closedToClient += relay.bytesToClient;
    this.#closedToDisplay += relay.bytesToDisplay;
  }

  info(): LiveSessionInfo {
    let up = this.#closedToDisplay;
    let down = this.#closedToClient;
    for (const r of this.relays) {
      up += r.bytesToDisplay;
      down += r.bytesToClient;
    }
    return {
      id: this.id,
      user: this.claims.sub,
      groups: [...this.claims.groups],
      desktop: this.claims.desktop,
      protocol: this.claims.protocol,
      viewOnly: this.claims.viewOnly,
      ...(this.claims.shadow ? { shadow: this.claims.shadow } : {}),
      startedAt: this.startedAt.toISOString(),
      connections: this.relays.size,
      bytesToClient: down,
      bytesToDisplay: up,
    };
  }
}

export class LiveSessions implements LiveSessionDirectory {
  readonly #byKey = new Map<string, LiveSession>();
  readonly #byId = new Map<string, LiveSession>();
  readonly #endedListeners = new Set<(session: LiveSession) => void>();
  readonly #openedListeners = new Set<(session: LiveSession) => void>();

  /** Calls `listener` when a session gets its first connection (a registry shared by nodes lists it at once). */
  onOpened(listener: (session: LiveSession) => void): () => void {
    this.#openedListeners.add(listener);
    return () => this.#openedListeners.delete(listener);
  }

  /**
   * Calls `listener` when a session's last connection has closed (what depends on the session,
   * such as a helpdesk watching it, ends with it). Returns a function that removes the listener.
   */
  onEnded(listener: (session: LiveSession) => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  /** Adds a relay to its session, opening the session on its first connection. */
  attach(key: string, claims: DisplayTokenClaims, relay: Relay): LiveSession {
    let session = this.#byKey.get(key);
    if (!session) {
      session = new LiveSession(key, claims);
      this.#byKey.set(key, session);
      this.#byId.set(session.id, session);
      session.relays.add(relay);
      for (const listener of this.#openedListeners) listener(session);
      return session;
    }
    session.relays.add(relay);
    return session;
  }

  detach(session: LiveSession, relay: Relay, end?: RelayEnd): void {
    session.remove(relay);
    if (session.relays.size === 0) {
      if (end) session.ending = { code: end.code, reason: end.reason };
      this.#byKey.delete(session.key);
      this.#byId.delete(session.id);
      for (const listener of this.#endedListeners) listener(session);
    }
  }

  /** This process's sessions. */
  local(): LiveSession[] {
    return [...this.#byId.values()];
  }

  find(id: string): LiveSession | undefined {
    return this.#byId.get(id);
  }

  /** Ends every session of this process that matches (a user's sessions, a shadowing's watchers). */
  endLocal(match: SessionMatch, code: number, reason: string): number {
    let n = 0;
    for (const s of this.#byId.values())
      if (matchesSession(s.claims, match)) {
        s.close(code, reason);
        n++;
      }
    return n;
  }

  async list(): Promise<LiveSessionInfo[]> {
    return this.local().map((s) => s.info());
  }

  async get(id: string): Promise<LiveSession | undefined> {
    return this.find(id);
  }

  async endWhere(match: SessionMatch, code: number, reason: string): Promise<number> {
    return this.endLocal(match, code, reason);
  }

  get size(): number {
    return this.#byId.size;
  }
}
