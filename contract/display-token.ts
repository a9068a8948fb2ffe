// The display token: what the broker signs and the proxy verifies. The proxy needs only the
// broker's public keys, so it can run on its own.
import { createHash } from 'node:crypto';
import type { ProtocolId } from './protocol.js';

export const TOKEN_ALGORITHM = 'ES256';
export const TOKEN_ISSUER = 'porthole-gateway';
export const TOKEN_AUDIENCE = 'porthole-proxy';
/** Tokens are usable for at most this long before first use (contract: 60 s or less). */
export const MAX_TOKEN_TTL_SECONDS = 60;
/**
 * The broker's sign-in cookie. Browsers send it with same-origin WebSocket upgrades, so a token
 * can be bound to the browser that asked for it: a token copied to another browser is refused.
 */
export const BROWSER_SESSION_COOKIE = 'porthole_session';

export interface DisplayTokenClaims {
  /** The user the token was issued to. */
  sub: string;
  /** Their groups and roles when it was issued, to re-check entitlement against fresh metadata. */
  groups: string[];
  roles: string[];
  /** The desktop id. */
  desktop: string;
  protocol: ProtocolId;
  viewOnly: boolean;
  /** The client IP the token is bound to; absent when binding is turned off. */
  ip?: string;
  /**
   * A helpdesk shadowing request the session's user accepted: consent stands in for the
   * desktop's metadata, and ending the request closes the connection.
   */
  shadow?: string;
  /** Digest of the browser's sign-in cookie (see browserBinding); absent for non-browser clients. */
  bsh?: string;
  /**
   * The id of the HTTP request that issued the token (`reqId` in the gateway's request log), so
   * that the proxy's log lines for the connections it opens name the call that asked for them.
   */
  rid?: string;
  /** Unique id: single use is enforced per jti. */
  jti: string;
  iat: number;
  exp: number;
}

/** What a token stores of the sign-in cookie: a digest, so the token does not carry the cookie. */
export function browserBinding(cookieValue: string): string {
  return createHash('sha256').update(cookieValue).digest('base64url').slice(0, 22);
}
