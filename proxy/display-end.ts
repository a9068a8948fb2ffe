// The display's side of a connection during its handshake: a socket (TCP, or TLS over it) whose
// bytes feed a bounded inbox until the relay takes over, its failures turned into the user's
// words. One place for it, whether the socket is the first or the one TLS put on top.
import type { Socket } from 'node:net';
import { CloseCode } from '../contract/close-codes.js';
import type { Desktop, DisplayEndpoint } from '../contract/desktop.js';
import type { DisplayEnd } from './adapter.js';
import { ProxyError } from './close.js';
import { Inbox } from './inbox.js';

/**
 * @param label the protocol as people name it ("SPICE")
 * @param limit the most bytes the inbox holds before the handshake is over (the display then waits)
 */
export function displayEnd<S extends Socket>(
  socket: S,
  endpoint: DisplayEndpoint,
  desktop: Desktop,
  label: string,
  limit: number,
): DisplayEnd & { socket: S } {
  // Paused at the limit, not failed: a display may send on while its handshake ends, and what it
  // sends belongs to the session (a lost chunk would corrupt its stream).
  const inbox = new Inbox('The display', limit, { pause: () => socket.pause(), resume: () => socket.resume() });
  const onData = (chunk: Buffer) => inbox.push(chunk);
  const onEnd = () =>
    inbox.fail(
      new ProxyError(
        CloseCode.displayUnreachable,
        `The desktop's ${label} display closed the connection during the handshake.`,
        'display closed during the handshake',
      ),
    );
  const onError = (error: Error) =>
    inbox.fail(new ProxyError(CloseCode.displayUnreachable, `The connection to the desktop's ${label} display failed.`, error.message));
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  return {
    socket,
    inbox,
    endpoint,
    desktop,
    send: (data) => {
      socket.write(data);
    },
    release: () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    },
  };
}
