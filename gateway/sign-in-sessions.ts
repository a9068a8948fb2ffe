// Signed-in browsers: an opaque random id in an HttpOnly cookie, mapped to the user name here
// (roles and groups are read from the user store at each request, so changes count at once).
// Nothing about the user is in the cookie, so signing out or revoking takes effect at once.
import { randomBytes } from 'node:crypto';
import { browserBinding } from '../contract/display-token.js';

export { BROWSER_SESSION_COOKIE as SESSION_COOKIE } from '../contract/display-token.js';

interface SignIn {
  username: string;
  expiresAt: number;
  /** The digest display tokens carry to bind them to this browser (browserBinding). */
  binding: string;
}

export class SignInSessions {
  readonly #byId = new Map<string, SignIn>();
  readonly #byBinding = new Map<string, string>();

  constructor(readonly ttlMs: number) {}

  /** A new sign-in; a fresh id every time, so a planted cookie is never promoted. */
  create(username: string): string {
    this.#sweep();
    const id = randomBytes(32).toString('base64url');
    this.#byId.set(id, { username, expiresAt: Date.now() + this.ttlMs, binding: browserBinding(id) });
    this.#byBinding.set(browserBinding(id), id);
    return id;
  }

  /** Whether the browser that display tokens with this binding were issued to is still signed in. */
  isSignedIn(binding: string): boolean {
    const id = this.#byBinding.get(binding);
    return id !== undefined && this.get(id) !== undefined;
  }

  /** The signed-in user's name, or undefined when the id is unknown or expired. */
  get(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt < Date.now()) {
      this.#remove(id, entry);
      return undefined;
    }
    return entry.username;
  }

  /** Ends one sign-in; returns the binding of the display tokens issued to it, if it existed. */
  delete(id: string | undefined): string | undefined {
    const entry = id ? this.#byId.get(id) : undefined;
    if (!id || !entry) return undefined;
    this.#remove(id, entry);
    return entry.binding;
  }

  /** Signs a user out of every browser; returns how many sign-ins ended. */
  deleteUser(username: string): number {
    let n = 0;
    for (const [id, entry] of this.#byId) if (entry.username === username) { this.#remove(id, entry); n++; }
    return n;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.#byId) if (entry.expiresAt < now) this.#remove(id, entry);
  }

  #remove(id: string, entry: SignIn): void {
    this.#byId.delete(id);
    this.#byBinding.delete(entry.binding);
  }
}
