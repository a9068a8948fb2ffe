// Device cookies (OWASP's defence against lockout abuse): a browser that has signed in as a user
// receives a cookie naming that user, signed by the gateway. When someone else's guesses have
// locked the name, that browser still signs in: its failures are counted for it alone. So a
// student cannot lock their teacher out of the class by typing wrong passwords on purpose.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { gatewayKey } from './key-files.js';

export const DEVICE_COOKIE = 'porthole_device';
/** How long a browser stays known: a school year and a bit. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 400 * 24 * 3600;

export class DeviceCookies {
  readonly #key: Buffer;

  /**
   * @param source PORTHOLE_DATA, where the signing secret lives in keys/device-cookies.key (made
   *   on first start), or the secret itself (kept in shared state, the same on every node)
   */
  constructor(source: string | Buffer) {
    this.#key = Buffer.isBuffer(source) ? source : gatewayKey(source, 'device-cookies.key');
  }

  /** A new cookie value for a browser that just signed in as `username`. */
  issue(username: string): string {
    const device = randomBytes(16).toString('base64url');
    return `${Buffer.from(username).toString('base64url')}.${device}.${this.#mac(username, device)}`;
  }

  /** The device's id when `cookie` is a genuine cookie of this gateway for `username`, else undefined. */
  verify(cookie: string | undefined, username: string): string | undefined {
    const [name, device, mac, ...rest] = (cookie ?? '').split('.');
    if (!name || !device || !mac || rest.length > 0) return undefined;
    if (Buffer.from(name, 'base64url').toString() !== username) return undefined;
    const expected = Buffer.from(this.#mac(username, device));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? device : undefined;
  }

  #mac(username: string, device: string): string {
    return createHmac('sha256', this.#key).update(`${username}\n${device}`).digest('base64url');
  }
}
