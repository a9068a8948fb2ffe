// Shadowing requests in Redis, so that a helpdesk asking through one node and a user answering
// through another see one request: `shadow:<id>` (JSON, expiring by TTL), indexed by user and by
// session in sets that expire with the longest of their requests.
import { RedisStore, isObject, isString, readJson } from '../../state/redis-store.js';
import type { ShadowRecords, ShadowRequest } from '../shadowing.js';

const STATES = new Set(['pending', 'accepted', 'refused', 'ended']);

function isShadowRequest(v: unknown): v is ShadowRequest {
  return (
    isObject(v) &&
    ['id', 'asker', 'session', 'user', 'desktop', 'requestedAt'].every((k) => isString(v[k])) &&
    typeof v.control === 'boolean' &&
    STATES.has(v.state as string)
  );
}

/** The indexes outlive every request they hold (the longest is kept this long). */
const INDEX_MS = 24 * 3600_000 + 60_000;

export class RedisShadowRecords implements ShadowRecords {
  constructor(readonly store: RedisStore) {}

  async put(request: ShadowRequest, keepMs: number): Promise<void> {
    const { store } = this;
    await store.call('saving a screen-sharing request', (r) =>
      r
        .multi()
        .set(store.key('shadow', request.id), JSON.stringify(request), 'PX', keepMs)
        .sadd(store.key('shadows-of-user', request.user), request.id)
        .pexpire(store.key('shadows-of-user', request.user), INDEX_MS)
        .sadd(store.key('shadows-of-session', request.session), request.id)
        .pexpire(store.key('shadows-of-session', request.session), INDEX_MS)
        .exec(),
    );
  }

  async get(id: string): Promise<ShadowRequest | undefined> {
    const key = this.store.key('shadow', id);
    return readJson(key, await this.store.call('reading a screen-sharing request', (r) => r.get(key)), isShadowRequest);
  }

  async ofUser(user: string): Promise<ShadowRequest[]> {
    return this.#indexed(this.store.key('shadows-of-user', user));
  }

  async ofSession(session: string): Promise<ShadowRequest[]> {
    return this.#indexed(this.store.key('shadows-of-session', session));
  }

  async #indexed(index: string): Promise<ShadowRequest[]> {
    const { store } = this;
    const ids = await store.call('reading screen-sharing requests', (r) => r.smembers(index));
    if (ids.length === 0) return [];
    const keys = ids.map((id) => store.key('shadow', id));
    const texts = await store.call('reading screen-sharing requests', (r) => r.mget(...keys));
    const gone = ids.filter((_, i) => texts[i] === null);
    if (gone.length) await store.call('tidying screen-sharing requests', (r) => r.srem(index, ...gone));
    return texts.flatMap((text, i) => readJson(keys[i]!, text, isShadowRequest) ?? []);
  }
}
