// OpenID users' principals in Redis, seen by every node: `oidc-principal:<user>` (JSON: roles,
// groups), expiring with the sign-in by a Redis TTL. A sign-in through the provider on one node
// then holds on every other with the groups the provider said.
import type { Principal } from '../../contract/desktop.js';
import { isObject, readJson, RedisStore } from '../../state/redis-store.js';
import type { OidcPrincipals } from '../directory/oidc-principals.js';

type Stored = { roles: string[]; groups: string[] };

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isStored = (v: unknown): v is Stored => isObject(v) && strings(v.roles) && strings(v.groups);

export class RedisOidcPrincipals implements OidcPrincipals {
  constructor(
    readonly store: RedisStore,
    /** The sign-in's life (sessions.signInHours). */
    readonly ttlMs: number,
  ) {}

  async keep(principal: Principal): Promise<void> {
    const value: Stored = { roles: principal.roles, groups: principal.groups };
    await this.store.call('saving an OpenID user', (r) =>
      r.set(this.store.key('oidc-principal', principal.username), JSON.stringify(value), 'PX', this.ttlMs),
    );
  }

  async lookup(username: string): Promise<Principal | undefined> {
    const key = this.store.key('oidc-principal', username);
    const stored = readJson(key, await this.store.call('reading an OpenID user', (r) => r.get(key)), isStored);
    return stored && { username, roles: stored.roles, groups: stored.groups };
  }

  async forget(username: string): Promise<void> {
    await this.store.call('forgetting an OpenID user', (r) => r.del(this.store.key('oidc-principal', username)));
  }
}
