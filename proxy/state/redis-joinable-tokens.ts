// Joinable claims across nodes (a SPICE session's further channels may come through another
// node): `joinable:<jti>` while its claiming connection lives, and at most a session's longest
// life, should the node that holds it die.
import type { JoinableTokens } from '../joinable-tokens.js';
import type { RedisStore } from '../../state/redis-store.js';

export class RedisJoinableTokens implements JoinableTokens {
  constructor(
    readonly store: RedisStore,
    /** The longest a session may last (sessions.maxHours). */
    readonly maxLifeMs: number,
  ) {}

  async open(jti: string): Promise<void> {
    await this.store.call('opening a session', (r) => r.set(this.store.key('joinable', jti), '1', 'PX', this.maxLifeMs));
  }

  async close(jti: string): Promise<void> {
    await this.store.call('closing a session', (r) => r.del(this.store.key('joinable', jti)));
  }

  async isOpen(jti: string): Promise<boolean> {
    return (await this.store.call('reading a session', (r) => r.exists(this.store.key('joinable', jti)))) === 1;
  }
}
