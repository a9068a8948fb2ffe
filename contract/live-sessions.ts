// What the gateway sees of the sessions the proxy carries: it lists them (helpdesk, admin),
// ends one or all that match (an admin, a sign-out, a revocation, a shadowing's end), and hears
// when one ends (a helpdesk watching it stops with it). The proxy implements it.
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
  connections: number;
  bytesToClient: number;
  bytesToDisplay: number;
}

/** One live session: one or more connections (SPICE: one per channel) opened with one token. */
export interface LiveSessionHandle {
  readonly id: string;
  readonly claims: DisplayTokenClaims;
  /** Closes every connection of the session with this code and reason. */
  end(code: CloseCodeValue, reason: string): void;
}

export interface LiveSessionDirectory {
  list(): LiveSessionInfo[];
  get(id: string): LiveSessionHandle | undefined;
  /** Ends every session whose token matches; returns how many. */
  endWhere(match: (claims: DisplayTokenClaims) => boolean, code: CloseCodeValue, reason: string): number;
  /** Calls `listener` once a session's last connection has closed; returns the unsubscriber. */
  onEnded(listener: (session: LiveSessionHandle) => void): () => void;
}
