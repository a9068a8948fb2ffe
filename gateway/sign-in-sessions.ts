// Signed-in browsers: an opaque random id in an HttpOnly cookie, mapped to the principal here.
// Nothing about the user is in the cookie, so signing out or revoking takes effect at once.
import { randomBytes } from 'node:crypto';
import type { Principal } from '../inventory/desktop.js';

export { BROWSER_SESSION_COOKIE as SESSION_COOKIE } from '../proxy/token.js';

interface SignIn {
  principal: Principal;
  expiresAt: number;
}

export class SignInSessions {
  readonly #byId = new Map<string, SignIn>();

  constructor(readonly ttlMs: number) {}

  /** A new sign-in; a fresh id every time, so a planted cookie is never promoted. */
  create(principal: Principal): string {
    this.#sweep();
    const id = randomBytes(32).toString('base64url');
    this.#byId.set(id, { principal, expiresAt: Date.now() + this.ttlMs });
    return id;
  }

  get(id: string | undefined): Principal | undefined {
    if (!id) return undefined;
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt < Date.now()) {
      this.#byId.delete(id);
      return undefined;
    }
    return entry.principal;
  }

  delete(id: string | undefined): void {
    if (id) this.#byId.delete(id);
  }

  /** Signs a user out of every browser; returns how many sign-ins ended. */
  deleteUser(username: string): number {
    let n = 0;
    for (const [id, entry] of this.#byId) if (entry.principal.username === username) { this.#byId.delete(id); n++; }
    return n;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.#byId) if (entry.expiresAt < now) this.#byId.delete(id);
  }
}
