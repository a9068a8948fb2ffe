// The groups and roles of users signed in through OpenID Connect, as their ID token said at
// sign-in. A provider is not asked again between sign-ins (it has no search to ask), so they hold
// for the sign-in's life (sessions.signInHours) and change at the user's next sign-in. A lone
// process keeps them in the state database beside the sign-ins, so that a restart signs nobody
// out; a cluster keeps them in Redis (gateway/state/redis-oidc-principals.ts), so that a sign-in
// on one node holds on every other.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Principal } from '../../contract/desktop.js';
import type { StateDatabase } from '../state-database.js';
import type { Directory } from './directory.js';

/** What the provider said of its users at their sign-in, kept for the sign-in's life. */
export interface OidcPrincipals {
  /** Keeps what the provider said at this sign-in, for as long as the sign-in lasts. */
  keep(principal: Principal): Promise<void>;
  /** The principal of a user signed in through the provider, or undefined for other names. */
  lookup(username: string): Promise<Principal | undefined>;
  /** The user signed in another way (the directory's password): their groups come from there now. */
  forget(username: string): Promise<void>;
}

/** In the state database (one process). */
export class StoredOidcPrincipals implements OidcPrincipals {
  readonly #db: DatabaseSync;
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #drop: StatementSync;
  readonly #sweep: StatementSync;

  constructor(
    readonly ttlMs: number,
    state: StateDatabase,
  ) {
    this.#db = state.db;
    this.#db.exec(`CREATE TABLE IF NOT EXISTS oidc_principals (
      username TEXT PRIMARY KEY, roles TEXT NOT NULL, groups TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    this.#put = this.#db.prepare(
      'INSERT INTO oidc_principals (username, roles, groups, expires_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (username) DO UPDATE SET roles = excluded.roles, groups = excluded.groups, expires_at = excluded.expires_at',
    );
    this.#get = this.#db.prepare('SELECT roles, groups, expires_at FROM oidc_principals WHERE username = ?');
    this.#drop = this.#db.prepare('DELETE FROM oidc_principals WHERE username = ?');
    this.#sweep = this.#db.prepare('DELETE FROM oidc_principals WHERE expires_at < ?');
  }

  async keep(principal: Principal): Promise<void> {
    this.#sweep.run(Date.now());
    this.#put.run(principal.username, JSON.stringify(principal.roles), JSON.stringify(principal.groups), Date.now() + this.ttlMs);
  }

  async lookup(username: string): Promise<Principal | undefined> {
    const row = this.#get.get(username) as { roles: string; groups: string; expires_at: number } | undefined;
    if (!row || row.expires_at < Date.now()) return undefined;
    return { username, roles: JSON.parse(row.roles) as string[], groups: JSON.parse(row.groups) as string[] };
  }

  async forget(username: string): Promise<void> {
    this.#drop.run(username);
  }
}

/**
 * The directory the sign-in and every request see: OpenID Connect users' principals first, then
 * the LDAP directory (when there is one). A password sign-in through LDAP replaces what an
 * earlier OpenID sign-in of the same name said.
 */
export function withOidcPrincipals(oidc: OidcPrincipals, ldap: Directory | undefined): Directory {
  return {
    async authenticate(username, password) {
      const principal = ldap ? await ldap.authenticate(username, password) : undefined;
      if (principal) await oidc.forget(principal.username);
      return principal;
    },
    async lookup(username) {
      return (await oidc.lookup(username)) ?? (ldap ? await ldap.lookup(username) : undefined);
    },
    close: async () => ldap?.close(),
  };
}
