// Signed-in browsers: an opaque random id in an HttpOnly cookie, mapped to the user name here
// (roles and groups are read from the user store at each request, so changes count at once).
// Nothing about the user is in the cookie, so signing out or revoking takes effect at once.
// Kept in the state database, so that a restart signs nobody out; with shared state, in Redis
// (see SignInStore), so that every node knows every sign-in.
import { createHash, randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { browserBinding } from '../contract/display-token.js';
import { StateDatabase } from './state-database.js';

export { BROWSER_SESSION_COOKIE as SESSION_COOKIE } from '../contract/display-token.js';

/** Where sign-ins are kept: this process's state database, or shared state. */
export interface SignInStore {
  readonly ttlMs: number;
  /** A new sign-in; a fresh id every time, so a planted cookie is never promoted. */
  create(username: string): Promise<string>;
  /** Whether the browser that display tokens with this binding were issued to is still signed in. */
  isSignedIn(binding: string): Promise<boolean>;
  /** The signed-in user's name, or undefined when the id is unknown or expired. */
  get(id: string | undefined): Promise<string | undefined>;
  /** Ends one sign-in; returns the binding of the display tokens issued to it, if it existed. */
  delete(id: string | undefined): Promise<string | undefined>;
  /** Signs a user out of every browser; returns how many sign-ins ended. */
  deleteUser(username: string): Promise<number>;
}

/** The cookie's digest: what a store keys a sign-in by, so that it holds no usable cookie. */
export function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

interface Row {
  username: string;
  binding: string;
  expires_at: number;
}

export class SignInSessions implements SignInStore {
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

  async create(username: string): Promise<string> {
    this.#sweep.run(Date.now());
    const id = randomBytes(32).toString('base64url');
    this.#insert.run(digest(id), username, browserBinding(id), Date.now() + this.ttlMs);
    return id;
  }

  async isSignedIn(binding: string): Promise<boolean> {
    const row = this.#byBinding.get(binding) as Row | undefined;
    return row !== undefined && row.expires_at >= Date.now();
  }

  async get(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    const row = this.#byDigest.get(digest(id)) as Row | undefined;
    if (!row) return undefined;
    if (row.expires_at < Date.now()) {
      this.#deleteOne.run(digest(id));
      return undefined;
    }
    return row.username;
  }

  async delete(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    const row = this.#byDigest.get(digest(id)) as Row | undefined;
    if (!row) return undefined;
    this.#deleteOne.run(digest(id));
    return row.binding;
  }

  async deleteUser(username: string): Promise<number> {
    return Number(this.#deleteUser.run(username).changes);
  }
}
