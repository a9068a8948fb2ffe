// One spelling per client address, so that the address a token is bound to (gateway) and the
// address a connection comes from (proxy) compare equal.

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client. */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
