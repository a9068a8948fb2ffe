// Porthole as an OpenID Connect relying party, through openid-client: discovery, the
// authorization code flow with PKCE, state and nonce, and the ID token's checks (its signature
// by the provider's published keys, issuer, audience, expiry and issue time within the stated clock skew, nonce).
// The provider's certificate is verified against `directory.oidc.ca` (or the system's CAs).
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import type { OidcFailure } from '../../contract/api/sign-in.js';
import type { OidcFlow } from './oidc-flow-cookie.js';
import type { OidcSettings } from './oidc-settings.js';

/** A sign-in that did not happen: `reason` for the page, `detail` for the log (never a secret). */
export class OidcRefusal extends Error {
  override name = 'OidcRefusal';
  constructor(
    readonly reason: OidcFailure,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Who the provider says signed in, read from the configured claims. */
export interface OidcIdentity {
  username: string;
  groups: string[];
  subject: string;
}

/** Discovery is read again after this long, so that a provider's moved endpoints are picked up. */
const DISCOVERY_MAX_AGE_MS = 3_600_000;

export class OidcRelyingParty {
  #discovered: { config: client.Configuration; at: number } | undefined;
  #discovering: Promise<client.Configuration> | undefined;
  readonly #agent: Agent;

  constructor(
    readonly settings: OidcSettings,
    /** {publicUrl}/api/login/oidc/callback: registered at the provider as the redirect URI. */
    readonly redirectUri: string,
    private readonly log: Logger,
  ) {
    this.#agent = new Agent({
      connect: { ...(settings.ca ? { ca: settings.ca } : {}), timeout: settings.timeoutSeconds * 1000 },
      headersTimeout: settings.timeoutSeconds * 1000,
      bodyTimeout: settings.timeoutSeconds * 1000,
    });
  }

  /** Where to send the browser, and the flow to seal into its cookie. */
  async begin(returnTo: string): Promise<{ url: URL; flow: OidcFlow }> {
    const config = await this.#configuration();
    const verifier = client.randomPKCECodeVerifier();
    const flow: OidcFlow = { state: client.randomState(), nonce: client.randomNonce(), verifier, returnTo, startedAt: Date.now() };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: ['openid', ...this.settings.scopes].join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /**
   * Checks the provider's answer against the flow this browser started and redeems the code.
   * @param query the callback's query string as received
   */
  async finish(query: URLSearchParams, flow: OidcFlow): Promise<OidcIdentity> {
    if (query.get('error')) {
      throw new OidcRefusal('cancelled', `the provider answered ${query.get('error')}: ${query.get('error_description') ?? ''}`.trim());
    }
    // Checked here as well as by the library, so that a forged state is told apart from a bad token.
    if (query.get('state') !== flow.state) throw new OidcRefusal('state', 'the state does not match the sign-in this browser started');
    const config = await this.#configuration();
    const current = new URL(this.redirectUri);
    current.search = query.toString();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw refusalOf(error);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcRefusal('unverified', 'the token answer holds no ID token');
    // The library checks exp (and nbf) within the skew, not an issue time ahead of our clock.
    const ahead = idClaims.iat - Date.now() / 1000;
    if (ahead > this.settings.clockSkewSeconds) {
      throw new OidcRefusal(
        'expired',
        `the ID token was issued ${Math.round(ahead)} s in the future, beyond directory.oidc.clockSkewSeconds (${this.settings.clockSkewSeconds}); check both clocks`,
      );
    }
    let claims: Record<string, unknown> = { ...idClaims };
    const { usernameClaim, groupsClaim } = this.settings;
    // Some providers (Keycloak without mappers, Entra with many groups) say these only at userinfo.
    if ((claims[usernameClaim] === undefined || claims[groupsClaim] === undefined) && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...claims };
      } catch (error) {
        this.log.warn({ err: describe(error) }, 'the provider did not answer the userinfo request; using the ID token alone');
      }
    }
    const username = claims[usernameClaim];
    if (typeof username !== 'string' || username.trim() === '' || username.length > 64) {
      throw new OidcRefusal('no-name', `the ID token has no usable ${usernameClaim} claim (check directory.oidc.usernameClaim)`);
    }
    const raw = claims[groupsClaim];
    const groups = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).filter(
      (g): g is string => typeof g === 'string' && g !== '',
    );
    return { username: username.trim(), groups: [...new Set(groups)].sort(), subject: idClaims.sub };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** The provider's metadata and keys' location, discovered once an hour; shared by concurrent sign-ins. */
  async #configuration(): Promise<client.Configuration> {
    if (this.#discovered && Date.now() - this.#discovered.at < DISCOVERY_MAX_AGE_MS) return this.#discovered.config;
    this.#discovering ??= this.#discover().finally(() => (this.#discovering = undefined));
    return this.#discovering;
  }

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, clockSkewSeconds, timeoutSeconds } = this.settings;
    const agent = this.#agent;
    // undici's own fetch with an agent that trusts directory.oidc.ca (Node's global fetch has no CA option).
    const customFetch: client.CustomFetch = (url, options) =>
      undiciFetch(url, { ...(options as object), dispatcher: agent }) as unknown as Promise<Response>;
    try {
      const config = await client.discovery(
        new URL(issuer),
        clientId,
        { [client.clockTolerance]: clockSkewSeconds },
        clientSecret ? client.ClientSecretPost(clientSecret) : client.None(),
        // The ID token's signature is checked against the provider's published keys too, not only
        // trusted for having come over TLS (which OpenID Connect allows for the token endpoint).
        { [client.customFetch]: customFetch, timeout: timeoutSeconds, execute: [client.enableNonRepudiationChecks] },
      );
      this.#discovered = { config, at: Date.now() };
      return config;
    } catch (error) {
      this.log.warn({ issuer, err: describe(error) }, 'the OpenID provider cannot be reached (discovery failed)');
      throw new OidcRefusal('unreachable', `discovery at ${issuer} failed: ${describe(error)}`);
    }
  }
}

/** A library error as a refusal: what the provider or its token said, for the log. */
function refusalOf(error: unknown): OidcRefusal {
  const detail = describe(error);
  if (error instanceof client.AuthorizationResponseError) return new OidcRefusal('cancelled', detail);
  const code = (error as { code?: string }).code;
  if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') return new OidcRefusal('expired', detail);
  if (error instanceof client.ResponseBodyError || (code && code.startsWith('OAUTH_'))) return new OidcRefusal('unverified', detail);
  return new OidcRefusal('unreachable', detail);
}

/** The error's message and, for network failures, its cause (undici hides it there). */
function describe(error: unknown): string {
  const e = error as Error & { cause?: Error & { code?: string }; error?: string; error_description?: string };
  const parts = [e.message, e.error && `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`, e.cause?.message];
  return parts.filter(Boolean).join(' — ');
}
