// The device cookies' signing secret, shared by every node: made by the first process to start
// (SET NX), read by all. Another deployment (another prefix) has another secret, so its device
// cookies count for nothing here.
import { randomBytes } from 'node:crypto';
import { RedisStore, unreadable } from '../../state/redis-store.js';

export async function sharedDeviceCookieKey(store: RedisStore): Promise<Buffer> {
  const key = store.key('device-cookie-key');
  await store.call('making the device cookie secret', (r) => r.set(key, randomBytes(32).toString('base64url'), 'NX'));
  const text = await store.call('reading the device cookie secret', (r) => r.get(key));
  const secret = Buffer.from(text ?? '', 'base64url');
  if (secret.length < 32) throw unreadable(key, 'not a secret of 32 bytes');
  return secret;
}
