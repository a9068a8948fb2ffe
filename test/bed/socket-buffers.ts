// A socket's kernel buffer sizes (SO_RCVBUF, SO_SNDBUF), which Node sets only for UDP: for tests
// that stand for a real line, whose TCP window is its bandwidth-delay product, on loopback, where
// Linux would otherwise grow the buffers to megabytes. Through libc's setsockopt with koffi.
import type { Socket } from 'node:net';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;

const setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, _In_ int *, uint32_t)') as (
  fd: number,
  level: number,
  name: number,
  value: number[],
  length: number,
) => number;

function fd(socket: Socket): number {
  const s = socket as unknown as { _handle?: { fd?: number }; _parent?: { _handle?: { fd?: number } } };
  const n = s._handle?.fd ?? s._parent?._handle?.fd;
  if (typeof n !== 'number' || n < 0) throw new Error('the socket has no descriptor');
  return n;
}

/** Fixes the socket's buffers (the kernel doubles the values, and stops tuning them itself). */
export function setSocketBuffers(socket: Socket, sizes: { receive?: number; send?: number }): void {
  for (const [name, value] of [
    [SO_RCVBUF, sizes.receive],
    [SO_SNDBUF, sizes.send],
  ] as const) {
    if (value !== undefined && setsockopt(fd(socket), SOL_SOCKET, name, [value], 4) !== 0) throw new Error(`setsockopt(${name}) failed`);
  }
}
