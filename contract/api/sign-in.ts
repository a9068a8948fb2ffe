// Signing in and who is signed in.
import { Type, type Static } from 'typebox';

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Principal = Type.Object({
  username: Type.String(),
  roles: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
});
export type Principal = Static<typeof Principal>;

/** `GET /api/login/oidc?return=/viewer.html?desktop=…`: the page to land on once signed in. */
export const OidcStartQuery = Type.Object({ return: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false });
export type OidcStartQuery = Static<typeof OidcStartQuery>;

/** The provider's answer (RFC 6749 4.1.2, and its error form 4.1.2.1). */
export const OidcCallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    iss: Type.Optional(Type.String({ maxLength: 1024 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    error_uri: Type.Optional(Type.String({ maxLength: 2048 })),
    session_state: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: true },
);
export type OidcCallbackQuery = Static<typeof OidcCallbackQuery>;

/**
 * Why an OpenID Connect sign-in did not happen: the callback sends the browser to
 * `/?signInError=<reason>` and the sign-in page says it in words.
 */
export const OIDC_FAILURES = [
  'state',
  'cancelled',
  'unverified',
  'expired',
  'unreachable',
  'no-name',
  'local-name',
  'unavailable',
] as const;
export type OidcFailure = (typeof OIDC_FAILURES)[number];

/** `GET /api/login/options` (beyond the contract, unauthenticated): how the sign-in page may sign in. */
export const SignInOptions = Type.Object({
  password: Type.Boolean(),
  /** "Sign in with <label>"; absent without an OpenID provider. */
  oidc: Type.Optional(Type.Object({ label: Type.String(), url: Type.String() })),
});
export type SignInOptions = Static<typeof SignInOptions>;
