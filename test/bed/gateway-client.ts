// A person's side of a running gateway, wherever it runs (in the test's process, or in a network
// namespace of its own): the HTTP API as the web client calls it, and WebSockets to the proxy as
// a browser on the gateway's origin opens them.
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { WebSocket } from 'ws';

export interface Attempt {
  protocol: 'spice' | 'vnc' | 'rdp';
  url: string;
  token: string;
  expiresAt: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  cookie?: string;
  /** The answer's headers, names in lower case. */
  headers: Record<string, string | string[] | undefined>;
}

export interface GatewayClient {
  api(method: string, path: string, options?: { cookie?: string; body?: unknown; origin?: string | null }): Promise<ApiResponse>;
  signIn(user: string, password: string): Promise<string>;
  connect(cookie: string, desktopId: string, body?: object): Promise<Attempt[]>;
  /** A WebSocket to the proxy, as a browser on this origin (signed in with `cookie`) would open it. */
  webSocket(url: string, options?: { protocol?: string; origin?: string; cookie?: string; localAddress?: string }): WebSocket;
}

/**
 * A client of the gateway listening on `address:port`, whose public URL has the origin `origin`
 * and whose certificate `ca` vouches for (it must name the origin's host).
 */
export function gatewayClient({ address, port, origin, ca }: { address: string; port: number; origin: string; ca: Buffer }): GatewayClient {
  const host = new URL(origin).hostname;
  // SNI carries names only; a certificate for an IP address is checked without it.
  const servername = isIP(host) ? undefined : host;

  const api: GatewayClient['api'] = (method, path, { cookie, body, origin: o = origin } = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        {
          host: address,
          port,
          ...(servername ? { servername } : {}),
          ca,
          method,
          path,
          headers: {
            ...(o ? { origin: o } : {}),
            ...(cookie ? { cookie } : {}),
            ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const set = res.headers['set-cookie']?.find((c) => c.startsWith('porthole_session='));
            resolve({
              status: res.statusCode ?? 0,
              body: text && res.headers['content-type']?.includes('json') ? JSON.parse(text) : text,
              ...(set ? { cookie: set.split(';', 1)[0]! } : {}),
              headers: res.headers,
            });
          });
        },
      );
      req.on('error', reject);
      // A regression must fail with a message, not hang: no answer within 30 s is an error.
      req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 30 s`)));
      req.end(payload);
    });

  return {
    api,
    async signIn(user, password) {
      const res = await api('POST', '/api/login', { body: { username: user, password } });
      if (res.status !== 200 || !res.cookie) throw new Error(`sign-in of ${user} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.cookie;
    },
    async connect(cookie, desktopId, body = {}) {
      const res = await api('POST', `/api/desktops/${encodeURIComponent(desktopId)}/connect`, { cookie, body });
      if (res.status !== 200) throw new Error(`connect failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { attempts: Attempt[] }).attempts;
    },
    webSocket(url, { protocol, origin: o = origin, cookie, localAddress } = {}) {
      const u = new URL(url);
      u.hostname = address; // the certificate names it too
      // localAddress: another loopback address (127.0.0.2) stands for another client machine.
      return new WebSocket(u, protocol ? [protocol] : [], {
        origin: o,
        ca,
        ...(servername ? { servername } : {}),
        handshakeTimeout: 30_000,
        ...(cookie ? { headers: { cookie } } : {}),
        ...(localAddress ? { localAddress } : {}),
      });
    },
  };
}
