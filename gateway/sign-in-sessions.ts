// Signed-in browsers: an opaque random id in an HttpOnly cookie, mapped to the user name here
// (roles and groups are read from the user store at each request, so changes count at once).
// Nothing about the user is in the cookie, so signing out or revoking takes effect at once.
// Kept in the state database, so that a restart signs nobody out.
import { createHash, randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { browserBinding } from '../contract/display-token.js';
import { StateDatabase } from './state-database.js';

export { BROWSER_SESSION_COOKIE as SESSION_COOKIE } from '../contract/display-token.js';

/** The cookie's digest: what the database keys a sign-in by, so that it holds no usable cookie. */
function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

interface Row {
  username: string;
  binding: string;
  expires_at: number;
}

export class SignInSessions {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #byDigest: StatementSync;
  readonly #byBinding: StatementSync;
  readonly #deleteOne: StatementSync;
  readonly #deleteUser: StatementSync;
  readonly #sweep: StatementSync;

  /** @param state where sign-ins are kept (PORTHOLE_DATA/state.db: a restart signs nobody out), in memory by default */
  constructor(
    readonly ttlMs: number,
    state: StateDatabase = new StateDatabase(),
  ) {
    this.#db = state.db;
    this.#insert = this.#db.prepare('INSERT INTO sign_ins (id_digest, username, binding, expires_at) VALUES (?, ?, ?, ?)');
    this.#byDigest = this.#db.prepare('SELECT username, binding, expires_at FROM sign_ins WHERE id_digest = ?');
    this.#byBinding = this.#db.prepare('SELECT username, binding, expires_at FROM sign_ins WHERE binding = ?');
    this.#deleteOne = this.#db.prepare('DELETE FROM sign_ins WHERE id_digest = ?');
    this.#deleteUser = this.#db.prepare('DELETE FROM sign_ins WHERE username = ?');
    this.#sweep = this.#db.prepare('DELETE FROM sign_ins WHERE expires_at < ?');
  }

  /** A new sign-in; a fresh id every time, so a planted cookie is never promoted. */
  create(username: string): string {
    this.#sweep.run(Date.now());
    const id = randomBytes(32).toString('base64url');
    this.#insert.run(digest(id), username, browserBinding(id), Date.now() + this.ttlMs);
    return id;
  }

  /** Whether the browser that display tokens with this binding were issued to is still signed in. */
  isSignedIn(binding: string): boolean {
    const row = this.#byBinding.get(binding) as Row | undefined;
    return row !== undefined && row.expires_at >= Date.now();
  }

  /** The signed-in user's name, or undefined when the id is unknown or expired. */
  get(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const row = this.#byDigest.get(digest(id)) as Row | undefined;
    if (!row) return undefined;
    if (row.expires_at < Date.now()) {
      this.#deleteOne.run(digest(id));
      return undefined;
    }
    return row.username;
  }

  /** Ends one sign-in; returns the binding of the display tokens issued to it, if it existed. */
  delete(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const row = this.#byDigest.get(digest(id)) as Row | undefined;
    if (!row) return undefined;
    this.#deleteOne.run(digest(id));
    return row.binding;
  }

  /** Signs a user out of every browser; returns how many sign-ins ended. */
  deleteUser(username: string): number {
    return Number(this.#deleteUser.run(username).changes);
  }
}
