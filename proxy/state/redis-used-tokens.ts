// Single use across every node: `jti:<id>` set with SET NX, expiring when the token can no longer
// be verified anyway. Atomic in Redis, so the same token presented to two nodes at once opens
// one connection.
import { forgetAfterMs, type UsedTokens } from '../replay-guard.js';
import type { RedisStore } from '../../state/redis-store.js';

export class RedisUsedTokens implements UsedTokens {
  constructor(readonly store: RedisStore) {}

  async claim(jti: string, expiresAtSeconds: number): Promise<boolean> {
    const ttl = Math.max(1000, forgetAfterMs(expiresAtSeconds) - Date.now());
    const set = await this.store.call('using up a token', (r) => r.set(this.store.key('jti', jti), '1', 'PX', ttl, 'NX'));
    return set === 'OK';
  }
}
