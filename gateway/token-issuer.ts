// Issues display tokens: short-lived, single-use, bound to user, desktop, protocol and
// (by default) the client's IP, signed with the broker's private key.
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Principal } from '../contract/desktop.js';
import type { ProtocolId } from '../contract/protocol.js';
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, browserBinding, type DisplayTokenClaims } from '../contract/display-token.js';
import type { SigningKey } from './signing-keys.js';
import type { AuditTrail } from '../contract/audit.js';

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export class TokenIssuer {
  /**
   * @param key the signing key, or a function giving the current one (key rotation)
   */
  constructor(
    readonly key: SigningKey | (() => SigningKey),
    readonly ttlSeconds: number,
    readonly bindClientIp: boolean,
    /** Where each token issued is recorded, by its id (never the token itself). */
    readonly audit?: AuditTrail,
  ) {}

  /**
   * @param options.browserSession the sign-in cookie of the browser asking; the token then works
   *   only in that browser
   * @param options.shadow the accepted shadowing request this token serves
   * @param options.requestId the HTTP request asking (carried into the proxy's connection logs)
   */
  issue(
    who: Principal,
    desktop: string,
    protocol: ProtocolId,
    options: { viewOnly: boolean; clientIp: string; browserSession?: string; shadow?: string; requestId?: string },
  ): IssuedToken {
    const iat = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    const claims: DisplayTokenClaims = {
      sub: who.username,
      groups: who.groups,
      roles: who.roles,
      desktop,
      protocol,
      viewOnly: options.viewOnly,
      ...(this.bindClientIp ? { ip: options.clientIp } : {}),
      ...(options.browserSession ? { bsh: browserBinding(options.browserSession) } : {}),
      ...(options.shadow ? { shadow: options.shadow } : {}),
      ...(options.requestId ? { rid: options.requestId } : {}),
      jti,
      iat,
      exp: iat + this.ttlSeconds,
    };
    const key = typeof this.key === 'function' ? this.key() : this.key;
    const token = jwt.sign(claims, key.privateKey, {
      algorithm: TOKEN_ALGORITHM,
      keyid: key.kid,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
    });
    this.audit?.record({
      event: 'token.issued',
      user: who.username,
      desktop,
      protocol,
      client: options.clientIp,
      token: jti,
      viewOnly: options.viewOnly,
      ...(options.shadow ? { shadow: options.shadow } : {}),
      ...(options.requestId ? { reqId: options.requestId } : {}),
    });
    return { token, jti, expiresAt: new Date(claims.exp * 1000) };
  }
}
