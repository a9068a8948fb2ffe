// The wiring of shared state: one Redis client for the process, its health (the process fails
// closed while Redis does not answer) and the key prefix, connected before the process serves.
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { redisClient, type RedisSettings } from '../state/redis-connection.js';
import { RedisHealth } from '../state/redis-health.js';
import { RedisStore } from '../state/redis-store.js';

export interface SharedState {
  store: RedisStore;
  health: RedisHealth;
  close(): Promise<void>;
}

/** How long a start waits for Redis before it says why it cannot. */
const START_TIMEOUT_MS = 10_000;

/** Connects, or throws naming PORTHOLE_REDIS and Redis's own reason (unreachable, wrong password, certificate). */
export async function connectShared(settings: RedisSettings, log: Logger): Promise<SharedState> {
  let client: Redis;
  try {
    client = redisClient(settings);
  } catch (error) {
    throw new Error(`PORTHOLE_REDIS: ${(error as Error).message}`, { cause: error });
  }
  let lastError = '';
  client.on('error', (error: Error) => {
    if (error.message !== lastError) log.warn(`Redis: ${error.message}`);
    lastError = error.message;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(lastError || `no answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      // A refused password or certificate will not change by retrying: said at once.
      client.on('error', (error: Error) => {
        if (/WRONGPASS|NOAUTH|certificate|self.signed|SSL|TLS|NOPERM/i.test(error.message)) {
          clearTimeout(timer);
          reject(error);
        }
      });
      client.connect().catch(() => {}); // errors arrive as 'error' events; ioredis goes on retrying
    });
  } catch (error) {
    client.disconnect();
    throw new Error(`PORTHOLE_REDIS: cannot use Redis: ${(error as Error).message}`, { cause: error });
  }
  const health = new RedisHealth(client);
  health.onChange((up, why) => {
    if (up) log.info('Redis answers again: taking new sign-ins and connections');
    else log.error({ reason: why }, 'Redis cannot be reached: new sign-ins and connections are refused; live connections go on');
  });
  const store = new RedisStore(client, settings.prefix);
  log.info({ prefix: settings.prefix }, 'state is shared in Redis');
  return {
    store,
    health,
    async close() {
      health.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
