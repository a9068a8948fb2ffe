// Sign-ins in Redis, seen by every node: `signin:<digest of the cookie>` (a hash: user, binding),
// `signin-binding:<binding>` (the display tokens' view of it) and `signins-of:<user>` (for a
// revocation), all expiring with the sign-in by Redis TTLs. Like the state database, Redis
// holds a digest of the cookie, never a cookie a browser could sign in with.
import { randomBytes } from 'node:crypto';
import { browserBinding } from '../../contract/display-token.js';
import { failedIn, RedisStore, unreadable } from '../../state/redis-store.js';
import { digest, type SignInStore } from '../sign-in-sessions.js';

export class RedisSignIns implements SignInStore {
  constructor(
    readonly store: RedisStore,
    readonly ttlMs: number,
  ) {}

  async create(username: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const key = digest(id);
    const binding = browserBinding(id);
    const { store } = this;
    await store.call('saving a sign-in', (r) =>
      r
        .multi()
        .hset(store.key('signin', key), { user: username, binding })
        .pexpire(store.key('signin', key), this.ttlMs)
        .set(store.key('signin-binding', binding), key, 'PX', this.ttlMs)
        .sadd(store.key('signins-of', username), key)
        .pexpire(store.key('signins-of', username), this.ttlMs)
        .exec()
        .then(failedIn),
    );
    return id;
  }

  async isSignedIn(binding: string): Promise<boolean> {
    const found = await this.store.call('reading a sign-in', (r) => r.exists(this.store.key('signin-binding', binding)));
    return found === 1;
  }

  async #read(id: string): Promise<{ user: string; binding: string } | undefined> {
    const key = this.store.key('signin', digest(id));
    const row = await this.store.call('reading a sign-in', (r) => r.hgetall(key));
    if (Object.keys(row).length === 0) return undefined;
    if (!row.user || !row.binding) throw unreadable(key, 'a sign-in without its user or binding');
    return { user: row.user, binding: row.binding };
  }

  async get(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    return (await this.#read(id))?.user;
  }

  async delete(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    const row = await this.#read(id);
    if (!row) return undefined;
    const { store } = this;
    await store.call('ending a sign-in', (r) =>
      r
        .multi()
        .del(store.key('signin', digest(id)), store.key('signin-binding', row.binding))
        .srem(store.key('signins-of', row.user), digest(id))
        .exec()
        .then(failedIn),
    );
    return row.binding;
  }

  async deleteUser(username: string): Promise<number> {
    const { store } = this;
    const digests = await store.call('reading sign-ins', (r) => r.smembers(store.key('signins-of', username)));
    let ended = 0;
    for (const key of digests) {
      const binding = await store.call('reading a sign-in', (r) => r.hget(store.key('signin', key), 'binding'));
      const removed = await store.call('ending a sign-in', (r) =>
        r.del(store.key('signin', key), ...(binding ? [store.key('signin-binding', binding)] : [])),
      );
      if (removed > 0) ended++;
    }
    await store.call('ending sign-ins', (r) => r.del(store.key('signins-of', username)));
    return ended;
  }
}
