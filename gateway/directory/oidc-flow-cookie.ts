// What a browser carries between "Sign in with …" and the provider's answer: the PKCE verifier,
// state, nonce and the page first asked for. Sealed with AES-256-GCM under a key of the gateway
// (PORTHOLE_DATA/keys/oidc-flow.key), so the browser can neither read nor change it, and kept
// for 10 minutes at most. In a cookie rather than in the process: any process of the cluster
// that shares PORTHOLE_DATA's keys can finish a sign-in another one started.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { gatewayKey } from '../key-files.js';

export const OIDC_FLOW_COOKIE = 'porthole_oidc';
/** How long a sign-in at the provider may take, from the click to the answer. */
export const OIDC_FLOW_MAX_AGE_SECONDS = 600;

export interface OidcFlow {
  state: string;
  nonce: string;
  verifier: string;
  /** The page to land on afterwards: a path on this origin. */
  returnTo: string;
  /** When the flow started (ms since the epoch). */
  startedAt: number;
}

export class OidcFlowSeal {
  readonly #key: Buffer;

  /** @param dataDir PORTHOLE_DATA; the key is made on first start */
  constructor(dataDir: string) {
    this.#key = gatewayKey(dataDir, 'oidc-flow.key');
  }

  seal(flow: OidcFlow): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(flow), 'utf8'), cipher.final()]);
    return `${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  /** The flow, when `cookie` is one this gateway sealed less than 10 minutes ago; else undefined. */
  open(cookie: string | undefined, now = Date.now()): OidcFlow | undefined {
    const [iv, body, tag, ...rest] = (cookie ?? '').split('.');
    if (!iv || !body || !tag || rest.length > 0) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      const flow = JSON.parse(text) as OidcFlow;
      const age = now - flow.startedAt;
      return age >= 0 && age <= OIDC_FLOW_MAX_AGE_SECONDS * 1000 ? flow : undefined;
    } catch {
      return undefined; // changed, made by another key, or not ours at all
    }
  }
}

/** A path on this origin to return to, or `/`: never another site (`//evil`, `/\evil`, a full URL). */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 1024) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/';
  const url = new URL(value, 'https://porthole.invalid');
  return url.origin === 'https://porthole.invalid' ? `${url.pathname}${url.search}${url.hash}` : '/';
}
