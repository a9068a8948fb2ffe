// The display token: what the broker signs and the proxy verifies. The proxy needs only the
// broker's public keys, so it can run on its own.
import type { Protocol } from '../inventory/desktop.js';

export const TOKEN_ALGORITHM = 'ES256';
export const TOKEN_ISSUER = 'porthole-gateway';
export const TOKEN_AUDIENCE = 'porthole-proxy';
/** Tokens are usable for at most this long before first use (contract: 60 s or less). */
export const MAX_TOKEN_TTL_SECONDS = 60;

export interface DisplayTokenClaims {
  /** The user the token was issued to. */
  sub: string;
  /** Their groups and roles when it was issued, to re-check entitlement against fresh metadata. */
  groups: string[];
  roles: string[];
  /** The desktop id, `<hypervisor>/<uuid>`. */
  desktop: string;
  protocol: Protocol;
  viewOnly: boolean;
  /** The client IP the token is bound to; absent when binding is turned off. */
  ip?: string;
  /** Unique id: single use is enforced per jti. */
  jti: string;
  iat: number;
  exp: number;
}
