// Sign-in lockouts in Redis, so that a lock made through one node holds on every node. The same
// rules as SignInLockout (see sign-in-lockout.ts), each step one Lua script, so that two nodes
// counting the same name at once cannot both let a guess through. `lockout:<name>` is a hash
// that expires once the name has been quiet for `forgetAfterMs` (no cap on names: Redis's TTLs
// bound them). An attempt under way on a node that died stops counting after STALE_MS.
import { DEFAULT_LOCKOUT_POLICY, type Lock, type LockoutPolicy, type LockoutStore, type Refusal } from '../sign-in-lockout.js';
import { RedisStore, unreadable } from '../../state/redis-store.js';

/** A password check takes well under a second; an attempt "under way" longer than this was lost. */
const STALE_MS = 60_000;
const BUSY_RETRY_MS = 5_000;

/** Reads the hash into locals, or returns 'corrupt' (data this script did not write). */
const READ = `
local k = KEYS[1]
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', k, 'failures', 'locks', 'lockedUntil', 'lastFailure', 'underWay', 'underWayAt')
local exists = redis.call('EXISTS', k) == 1
local n = {}
for i = 1, 6 do
  n[i] = tonumber(h[i] or '0')
  if exists and (h[i] == false or n[i] == nil) then return {'corrupt'} end
end
local failures, locks, lockedUntil, lastFailure, underWay, underWayAt = n[1], n[2], n[3], n[4], n[5], n[6]
if now - underWayAt > ${STALE_MS} then underWay = 0 end
local function save(forget)
  if failures == 0 and locks == 0 and underWay == 0 then
    redis.call('DEL', k)
  else
    redis.call('HSET', k, 'failures', failures, 'locks', locks, 'lockedUntil', lockedUntil, 'lastFailure', lastFailure,
      'underWay', underWay, 'underWayAt', underWayAt)
    redis.call('PEXPIRE', k, math.max(lockedUntil - now, 0) + math.max(forget, ${STALE_MS}))
  end
end
`;

const ADMIT = `${READ}
local threshold, forget = tonumber(ARGV[2]), tonumber(ARGV[3])
if underWay == 0 and now - math.max(lastFailure, lockedUntil) > forget then failures, locks, lockedUntil = 0, 0, 0 end
if lockedUntil > now then return {'locked', tostring(lockedUntil - now)} end
if failures + underWay >= threshold then return {'busy', '${BUSY_RETRY_MS}'} end
underWay = underWay + 1
underWayAt = now
if lastFailure == 0 then lastFailure = now end
save(forget)
return {'ok'}
`;

const SETTLE = `${READ}
if not exists then return {'none'} end
local outcome, threshold, firstLock, maxLock, forget = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
underWay = math.max(0, underWay - 1)
local result = {'none'}
if outcome == 'yes' then
  failures, locks, lockedUntil = 0, 0, 0
elseif outcome == 'no' and lockedUntil <= now then
  failures = failures + 1
  lastFailure = now
  if failures >= threshold then
    locks = locks + 1
    local duration = math.min(maxLock, firstLock * 2 ^ (locks - 1))
    lockedUntil = now + duration
    failures = 0
    result = {'lock', tostring(lockedUntil), tostring(duration), tostring(locks)}
  end
end
save(forget)
return result
`;

const UNLOCK = `${READ}
if lockedUntil <= now then return {'no'} end
failures, locks, lockedUntil = 0, 0, 0
save(tonumber(ARGV[2]))
return {'yes'}
`;

export class RedisLockout implements LockoutStore {
  readonly #policy: LockoutPolicy;

  constructor(
    readonly store: RedisStore,
    policy: Partial<LockoutPolicy> = {},
  ) {
    this.#policy = { ...DEFAULT_LOCKOUT_POLICY, ...policy };
  }

  async #run(script: string, name: string, ...args: Array<string | number>): Promise<string[]> {
    const key = this.store.key('lockout', name);
    const result = (await this.store.call('counting failed sign-ins', (r) => r.eval(script, 1, key, Date.now(), ...args))) as string[];
    if (result[0] === 'corrupt') throw unreadable(key, 'not a lockout record');
    return result;
  }

  async admit(username: string): Promise<Refusal | undefined> {
    const [status, ms] = await this.#run(ADMIT, username, this.#policy.threshold, this.#policy.forgetAfterMs);
    if (status === 'locked') return { reason: 'locked', retryAfterMs: Number(ms) };
    if (status === 'busy') return { reason: 'busy', retryAfterMs: Number(ms) };
    return undefined;
  }

  async settle(username: string, signedIn: boolean | undefined): Promise<Lock | undefined> {
    const { threshold, firstLockMs, maxLockMs, forgetAfterMs } = this.#policy;
    const outcome = signedIn === true ? 'yes' : signedIn === false ? 'no' : 'unknown';
    const [status, until, duration, count] = await this.#run(SETTLE, username, outcome, threshold, firstLockMs, maxLockMs, forgetAfterMs);
    if (status !== 'lock') return undefined;
    return { until: Number(until), durationMs: Number(duration), count: Number(count) };
  }

  async unlock(username: string): Promise<boolean> {
    const [status] = await this.#run(UNLOCK, username, this.#policy.forgetAfterMs);
    return status === 'yes';
  }
}
