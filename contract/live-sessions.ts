// What the gateway sees of the sessions the proxy carries: it lists them (helpdesk, admin),
// ends one or all that match (an admin, a sign-out, a revocation, a shadowing's end), and hears
// when one ends (a helpdesk watching it stops with it). The proxy implements it, for its own
// process alone or, with shared state, for every process of every node: hence asynchronous, and
// a match that is data (it crosses to other nodes), never a function.
import type { CloseCodeValue } from './close-codes.js';
import type { DisplayTokenClaims } from './display-token.js';
import type { ProtocolId } from './protocol.js';

export interface LiveSessionInfo {
  id: string;
  user: string;
  /** The user's groups when the session's token was issued: what group limits count by. */
  groups: string[];
  desktop: string;
  protocol: ProtocolId;
  viewOnly: boolean;
  /** Set on a helpdesk watcher's connection: the shadowing request it belongs to. */
  shadow?: string;
  startedAt: string;
  /** The process that carries it (host:pid:random), where state is shared in Redis. */
  node?: string;
  connections: number;
  bytesToClient: number;
  bytesToDisplay: number;
}

/** One live session: one or more connections (SPICE: one per channel) opened with one token. */
export interface LiveSessionHandle {
  readonly id: string;
  readonly claims: DisplayTokenClaims;
  /** Once its last connection has closed: how that ended (a close code of contract/close-codes.ts, and the reason). */
  readonly ending?: { code: number; reason: string };
  /** Closes every connection of the session with this code and reason, wherever it runs. */
  end(code: CloseCodeValue, reason: string): Promise<void>;
}

/** Which sessions to end: all, a user's, a browser's (its sign-in binding), a shadowing's watchers. */
export type SessionMatch =
  | { all: true }
  | { user: string }
  | { browser: string }
  | { shadow: string }
  /** The desktop's other controlling sessions over a protocol (a single-client display taken over): not view-only, not a watcher. */
  | { takeOver: { desktop: string; protocol: string; except: string } };

export function matchesSession(claims: DisplayTokenClaims, match: SessionMatch): boolean {
  if ('all' in match) return true;
  if ('takeOver' in match) {
    const t = match.takeOver as typeof match.takeOver | undefined; // from another node: may be malformed
    return (
      !!t && claims.desktop === t.desktop && claims.protocol === t.protocol && claims.jti !== t.except && !claims.viewOnly && !claims.shadow
    );
  }
  if ('user' in match) return claims.sub === match.user;
  if ('browser' in match) return claims.bsh !== undefined && claims.bsh === match.browser;
  return claims.shadow !== undefined && claims.shadow === match.shadow;
}

export interface LiveSessionDirectory {
  list(): Promise<LiveSessionInfo[]>;
  get(id: string): Promise<LiveSessionHandle | undefined>;
  /** Ends every session that matches, on every node; returns how many. */
  endWhere(match: SessionMatch, code: CloseCodeValue, reason: string): Promise<number>;
  /** Calls `listener` when a session of this process gets its first connection; returns the unsubscriber. */
  onOpened(listener: (session: LiveSessionHandle) => void): () => void;
  /** Calls `listener` once a session of this process has lost its last connection; returns the unsubscriber. */
  onEnded(listener: (session: LiveSessionHandle) => void): () => void;
}
