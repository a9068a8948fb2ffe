// The PROXY protocol (version 1, HAProxy's `send-proxy`) from the load balancers named in
// `trustedProxies`: a connection from one of them starts with a line naming the real client,
// which then stands as the connection's address everywhere (sign-ins, tokens' address binding,
// the proxy's check of it, the audit trail). A connection from any other peer is taken as it is:
// a PROXY line from it is not read, and fails its TLS handshake. Written here because Node has
// no PROXY protocol of its own and the packages for it wrap the server rather than a socket.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { normalizeIp } from '../contract/client-address.js';

/** The longest v1 line (the specification's bound, CRLF included). */
const MAX_LINE = 107;
const HEADER_TIMEOUT_MS = 5000;
const CLIENT = Symbol('proxied client');

type Proxied = Socket & { [CLIENT]?: string };

/** The client address a v1 line names, undefined for `PROXY UNKNOWN`; throws when it is not a PROXY line. */
export function parseProxyLine(line: string): string | undefined {
  const parts = line.split(' ');
  if (parts[0] !== 'PROXY') throw new Error('not a PROXY protocol line');
  if (parts[1] === 'UNKNOWN') return undefined;
  const [, family, source, , sourcePort] = parts;
  if (
    parts.length !== 6 ||
    !['TCP4', 'TCP6'].includes(family!) ||
    isIP(source!) !== (family === 'TCP4' ? 4 : 6) ||
    !/^\d{1,5}$/.test(sourcePort!)
  ) {
    throw new Error('a malformed PROXY protocol line');
  }
  return normalizeIp(source);
}

export function acceptProxyProtocol(server: Server, trusted: ReadonlySet<string>, log: Logger): void {
  if (trusted.size === 0) return;
  const tlsListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Proxied) => {
    const handOn = () => tlsListeners.forEach((listener) => listener.call(server, socket));
    if (!trusted.has(normalizeIp(socket.remoteAddress))) return handOn();
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => fail('no PROXY line in time'), HEADER_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      log.warn({ peer: normalizeIp(socket.remoteAddress) }, `connection from a trusted proxy refused: ${why}`);
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > MAX_LINE) fail('a PROXY line longer than the protocol allows');
        return;
      }
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      try {
        const client = parseProxyLine(buffered.subarray(0, end).toString('latin1'));
        if (client) socket[CLIENT] = client;
      } catch (error) {
        return fail((error as Error).message);
      }
      socket.unshift(buffered.subarray(end + 2));
      handOn();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
  // The TLS socket on top of the connection answers with the client's address.
  server.on('secureConnection', (tlsSocket: TLSSocket & { _parent?: Proxied }) => {
    const client = tlsSocket._parent?.[CLIENT];
    if (client) Object.defineProperty(tlsSocket, 'remoteAddress', { value: client, configurable: true });
  });
}
