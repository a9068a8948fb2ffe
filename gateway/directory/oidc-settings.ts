// The `directory.oidc` settings as the sign-in uses them (serve/directory-config.ts reads and
// checks them; the CA is read from its file there).
import type { GroupRoles } from './group-roles.js';

export interface OidcSettings {
  /** Discovery from `{issuer}/.well-known/openid-configuration`; the ID token's `iss` must be exactly this. */
  issuer: string;
  clientId: string;
  /** From PORTHOLE_OIDC_CLIENT_SECRET; without it Porthole is a public client (PKCE only). */
  clientSecret?: string;
  /** "Sign in with <label>" on the sign-in page. */
  label: string;
  usernameClaim: string;
  groupsClaim: string;
  roles: GroupRoles;
  /** Scopes asked for beyond `openid`. */
  scopes: string[];
  /** PEM: the authorities the provider's certificate must chain to; the system's when absent. */
  ca?: Buffer;
  /** How far the provider's clock may be from ours when ID tokens' times are checked. */
  clockSkewSeconds: number;
  /** Bound on each request to the provider (discovery, keys, token). */
  timeoutSeconds: number;
}
