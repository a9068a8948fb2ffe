// A real OpenID provider for tests: the `oidc-provider` package (an OpenID-certified
// implementation) on a loopback HTTPS port, with a certificate from a CA made at test time (the
// gateway must verify it: directory.oidc.ca), users with passwords and groups, and its own login
// page, which Chromium fills in as a person does. For the refusal tests the provider can be told
// to rewrite the ID tokens it hands out (signed again with its own key, or with a stranger's):
// a wrong nonce, issuer or audience, an expired token, a forged signature.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { Agent, fetch } from 'undici';
import { createAuthority, issueHostCertificate } from '../../certs/authority.js';
import { freePort } from './ports.js';
import { recordSecret } from './secret-record.js';

export interface OidcUser {
  username: string;
  password: string;
  groups: string[];
}

/** Rewrites the claims of the next ID tokens; `key: 'stranger'` signs them with a key the provider never published. */
export interface IdTokenTamper {
  claims?: (claims: JWTPayload) => JWTPayload;
  key?: 'provider' | 'stranger';
}

export interface OidcTestProvider {
  /** https://localhost:PORT */
  issuer: string;
  port: number;
  /** PEM file of the CA that signed the provider's certificate. */
  caFile: string;
  clientId: string;
  /** PORTHOLE_OIDC_CLIENT_SECRET */
  clientSecret: string;
  /** `directory.oidc` for this provider. */
  config(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** From now on, every ID token the token endpoint hands out is rewritten so; undefined: honest again. */
  tamper(with_: IdTokenTamper | undefined): void;
  /**
   * Signs in at the provider's login page as a script would (GET the authorization URL, the login
   * form, POST it): the URL the provider then sends the browser to (the gateway's callback).
   */
  signIn(authorizationUrl: string, username: string, password: string): Promise<URL>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const CLIENT_ID = 'porthole-test';

function page(uid: string, message = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>School account</title></head>
<body><h1>School account</h1><p id="message">${message}</p>
<form method="post" action="/interaction/${uid}/login">
<label>User name <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="provider-submit">Sign in</button></form></body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * @param redirectUris the gateways' callbacks (https://localhost:PORT/api/login/oidc/callback)
 */
export async function startOidcProvider(options: { redirectUris: string[]; users: OidcUser[] }): Promise<OidcTestProvider> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-oidc-'));
  const port = await freePort();
  const issuer = `https://localhost:${port}`;
  const authority = await createAuthority('Porthole test OpenID provider CA');
  const tls = await issueHostCertificate(authority, ['localhost', '127.0.0.1']);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, authority.cert);
  const clientSecret = `oidc-client-secret-${randomBytes(12).toString('base64url')}`;
  recordSecret('OIDC client secret', clientSecret);
  for (const u of options.users) recordSecret('user password', u.password);

  const signing = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  let tampering: IdTokenTamper | undefined;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(24).toString('base64url')] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'groups'],
    // As Entra ID and Google do, the ID token carries the user's claims itself.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => {
      const user = options.users.find((u) => u.username === id);
      if (!user) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, preferred_username: user.username, name: user.username, groups: user.groups }),
      };
    },
    // Porthole is the school's own service: no consent page, the grant is made at once.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const clientId = ctx.oidc.client!.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid profile groups');
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><p id="provider-error">${String(out.error)}: ${String(out.error_description ?? '')}</p>`;
    },
  });
  // The rewriting of ID tokens, after the token endpoint has made its answer.
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || !tampering || !body?.id_token) return;
    const claims = tampering.claims ? tampering.claims(decodeJwt(body.id_token)) : decodeJwt(body.id_token);
    const key = tampering.key === 'stranger' ? stranger.privateKey : signing.privateKey;
    ctx.body = { ...body, id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(key) };
  });

  const handle = provider.callback();
  const interaction = async (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(new URL(req.url!, issuer).pathname);
    if (!match) return handle(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid));
        return;
      }
      const form = await formBody(req);
      const user = options.users.find((u) => u.username === form.get('login') && u.password === form.get('password'));
      if (!user) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid, 'Wrong user name or password.'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
    } catch (error) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${(error as Error).message}`);
    }
  };

  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const start = async () => {
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => void interaction(req, res));
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const stop = async () => {
    if (!server) return;
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => s.close(resolve));
  };
  await start();

  const agent = new Agent({ connect: { ca: authority.cert } });
  return {
    issuer,
    port,
    caFile,
    clientId: CLIENT_ID,
    clientSecret,
    config: (overrides = {}) => ({
      issuer,
      clientId: CLIENT_ID,
      label: 'School account',
      usernameClaim: 'preferred_username',
      groupsClaim: 'groups',
      scopes: ['profile', 'groups'],
      ca: caFile,
      roles: { admin: ['it-staff'], helpdesk: ['helpdesk'] },
      ...overrides,
    }),
    tamper: (t) => {
      tampering = t;
    },
    async signIn(authorizationUrl, username, password) {
      const jar = new Map<string, string>();
      const go = async (url: string, init: { method?: string; body?: string } = {}) => {
        const res = await fetch(url, {
          method: init.method ?? 'GET',
          redirect: 'manual',
          dispatcher: agent,
          headers: {
            cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
            ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(init.body ? { body: init.body } : {}),
          signal: AbortSignal.timeout(30_000),
        });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';', 1);
          const eq = pair!.indexOf('=');
          jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
        }
        return res;
      };
      let res = await go(authorizationUrl);
      // The provider sends the browser to its login page (an interaction)...
      let location = new URL(res.headers.get('location') ?? '', issuer);
      if (!location.pathname.startsWith('/interaction/')) throw new Error(`provider answered ${res.status} to ${location.href}`);
      await (await go(location.href)).text();
      res = await go(`${location.href}/login`, {
        method: 'POST',
        body: new URLSearchParams({ login: username, password }).toString(),
      });
      // ...and, once signed in, through its authorization endpoint again to the client's callback.
      for (let hops = 0; hops < 5; hops++) {
        location = new URL(res.headers.get('location') ?? '', issuer);
        if (location.origin !== issuer) return location;
        if (res.status < 300 || res.status >= 400) throw new Error(`provider answered ${res.status}: ${await res.text()}`);
        res = await go(location.href);
      }
      throw new Error('the provider did not send the browser back to the client');
    },
    stop,
    start,
    async close() {
      await stop();
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
