// Verifies display tokens with the broker's public keys (selected by key id), so the proxy
// needs no secret. Failures carry reasons a person can act on.
import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CloseCode } from '../contract/close-codes.js';
import type { ProtocolId } from '../contract/protocol.js';
import { ProxyError } from './close.js';
import {
  MAX_TOKEN_TTL_SECONDS,
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  browserBinding,
  type DisplayTokenClaims,
} from '../contract/display-token.js';

/**
 * Clock skew tolerated between the broker that signs and the proxy that verifies, for tokens
 * that seem issued in the future. Expiry has no tolerance: a token stops working at its `exp`
 * (the `expiresAt` its user was told, at most 60 s after issue) by the proxy's clock.
 */
export const CLOCK_TOLERANCE_SECONDS = 5;

const EXPIRED = 'This connection link has expired. Open the desktop again from your list.';
const INVALID = 'This connection link is not valid. Open the desktop again from your list.';

export class TokenVerifier {
  readonly #keys = new Map<string, KeyObject>();

  /** @param keys public keys in PEM, by key id */
  constructor(keys: Iterable<[string, string | KeyObject]>) {
    for (const [kid, key] of keys) this.addKey(kid, key);
  }

  addKey(kid: string, key: string | KeyObject): void {
    const object = typeof key === 'string' ? createPublicKey(key) : key;
    if (object.type !== 'public') throw new Error(`key ${kid}: the proxy takes public keys only`);
    this.#keys.set(kid, object);
  }

  /** Replaces the whole set (after a key rotation): tokens signed by a dropped key are refused. */
  setKeys(keys: Iterable<[string, string | KeyObject]>): void {
    this.#keys.clear();
    for (const [kid, key] of keys) this.addKey(kid, key);
  }

  /**
   * Checks signature, issuer, audience, expiry, protocol, client IP and browser session.
   * Does not mark the token used: single use is the caller's policy (see ReplayGuard).
   */
  verify(
    token: string | undefined,
    protocol: ProtocolId,
    clientIp: string,
    options: { ignoreExpiration?: boolean; browserSession?: string | undefined } = {},
  ): DisplayTokenClaims {
    if (!token) throw new ProxyError(CloseCode.badToken, INVALID, 'no token');
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded && typeof decoded === 'object' ? decoded.header.kid : undefined;
    const key = kid ? this.#keys.get(kid) : undefined;
    if (!key) throw new ProxyError(CloseCode.badToken, INVALID, `token with unknown key id ${JSON.stringify(kid ?? null)}`);
    let payload: unknown;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        ...(options.ignoreExpiration ? { ignoreExpiration: true } : { maxAge: MAX_TOKEN_TTL_SECONDS }),
      });
    } catch (error) {
      const expired = error instanceof jwt.TokenExpiredError;
      throw new ProxyError(CloseCode.badToken, expired ? EXPIRED : INVALID, `token rejected: ${(error as Error).message}`);
    }
    const claims = payload as Partial<DisplayTokenClaims>;
    if (
      typeof claims.sub !== 'string' ||
      typeof claims.desktop !== 'string' ||
      typeof claims.jti !== 'string' ||
      typeof claims.protocol !== 'string' ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number' ||
      !Array.isArray(claims.groups) ||
      !Array.isArray(claims.roles) ||
      typeof claims.viewOnly !== 'boolean'
    ) {
      throw new ProxyError(CloseCode.badToken, INVALID, 'token without the display claims');
    }
    if (claims.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new ProxyError(
        CloseCode.badToken,
        INVALID,
        `token issued ${claims.iat - Math.floor(Date.now() / 1000)} s in the future: the broker's and the proxy's clocks differ by more than ${CLOCK_TOLERANCE_SECONDS} s`,
      );
    }
    if (claims.exp - claims.iat > MAX_TOKEN_TTL_SECONDS) {
      throw new ProxyError(CloseCode.badToken, INVALID, `token lifetime ${claims.exp - claims.iat} s exceeds ${MAX_TOKEN_TTL_SECONDS} s`);
    }
    if (claims.protocol !== protocol) {
      throw new ProxyError(CloseCode.forbidden, INVALID, `token for ${claims.protocol} used on ${protocol}`);
    }
    if (claims.ip !== undefined && claims.ip !== clientIp) {
      throw new ProxyError(
        CloseCode.forbidden,
        'This connection link was issued to another network address. Open the desktop again from this device.',
        `token bound to ${claims.ip} used from ${clientIp}`,
      );
    }
    if (claims.bsh !== undefined && (!options.browserSession || browserBinding(options.browserSession) !== claims.bsh)) {
      throw new ProxyError(
        CloseCode.forbidden,
        'This connection link belongs to another browser session. Open the desktop from your own list.',
        'token bound to another browser session',
      );
    }
    return claims as DisplayTokenClaims;
  }
}
