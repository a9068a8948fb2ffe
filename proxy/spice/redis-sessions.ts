// SPICE session bindings across nodes: `spice:<jti>` (a hash: live, and the server's session id
// once the main channel has it) and `spice-channels:<jti>` (the channels open, to refuse a
// duplicate), so that the channels of one session may come through different nodes.
import { setTimeout as sleep } from 'node:timers/promises';
import { sessionEnded, sessionLate, type SpiceSessionStore } from './sessions.js';
import { unreadable, type RedisStore } from '../../state/redis-store.js';

/** How often a channel that came before its main channel's session id looks again. */
const POLL_MS = 25;

export class RedisSpiceSessions implements SpiceSessionStore {
  constructor(
    readonly store: RedisStore,
    /** The longest a session may last: what a binding left by a node that died lasts. */
    readonly maxLifeMs: number,
  ) {}

  #key(jti: string): string {
    return this.store.key('spice', jti);
  }

  #channels(jti: string): string {
    return this.store.key('spice-channels', jti);
  }

  async begin(jti: string): Promise<void> {
    await this.store.call('opening a SPICE session', (r) =>
      r.multi().hset(this.#key(jti), 'live', '1').pexpire(this.#key(jti), this.maxLifeMs).exec(),
    );
  }

  async setSessionId(jti: string, id: number): Promise<void> {
    await this.store.call('recording a SPICE session', (r) => r.hset(this.#key(jti), 'sid', String(id)));
  }

  async isLive(jti: string): Promise<boolean> {
    return (await this.store.call('reading a SPICE session', (r) => r.exists(this.#key(jti)))) === 1;
  }

  async sessionId(jti: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [live, sid] = await this.store.call('reading a SPICE session', (r) => r.hmget(this.#key(jti), 'live', 'sid'));
      if (live === null) throw sessionEnded();
      if (sid !== null) {
        const id = Number(sid);
        if (!/^\d+$/.test(sid) || id > 0xffffffff) throw unreadable(this.#key(jti), 'a session id that is not a number');
        return id;
      }
      if (Date.now() >= deadline) throw sessionLate();
      await sleep(POLL_MS);
    }
  }

  async addChannel(jti: string, channel: string): Promise<boolean> {
    const [added] =
      (await this.store.call('recording a SPICE channel', (r) =>
        r.multi().sadd(this.#channels(jti), channel).pexpire(this.#channels(jti), this.maxLifeMs).exec(),
      )) ?? [];
    return added?.[1] === 1;
  }

  async removeChannel(jti: string, channel: string): Promise<void> {
    await this.store.call('closing a SPICE channel', (r) => r.srem(this.#channels(jti), channel));
  }

  async end(jti: string): Promise<void> {
    await this.store.call('ending a SPICE session', (r) => r.del(this.#key(jti), this.#channels(jti)));
  }
}
