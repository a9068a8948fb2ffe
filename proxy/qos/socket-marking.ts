// Socket options Node has no API for, set through libc's setsockopt with koffi on the socket's
// descriptor. Marks display traffic so that switches and hosts can prioritise it: the socket
// priority (SO_PRIORITY, which a VLAN interface's egress-qos-map turns into 802.1p PCP bits) and
// the DSCP (IP_TOS / IPV6_TCLASS); a failure (no permission, another platform) is logged once and
// never breaks a session. And keeps the kernel's queues small where a backlog would hide from
// the relay: the unsent bytes towards a browser (TCP_NOTSENT_LOWAT), the display's receive buffer.
import type { Socket } from 'node:net';
import koffi from 'koffi';
import type { Logger } from 'pino';
import type { TrafficClass } from '../../contract/protocol.js';

// Linux values (asm-generic/socket.h, netinet/in.h).
const SOL_SOCKET = 1;
const SO_PRIORITY = 12;
const IPPROTO_IP = 0;
const IP_TOS = 1;
const IPPROTO_IPV6 = 41;
const IPV6_TCLASS = 67;
const SO_RCVBUF = 8;
const SOL_TCP = 6;
const TCP_NOTSENT_LOWAT = 25;
const SIOCOUTQNSD = 0x894b; // bytes in the send queue not yet sent (linux/sockios.h)

type SetSockOpt = (fd: number, level: number, name: number, value: number[], length: number) => number;
type GetSockOpt = (fd: number, level: number, name: number, value: number[], length: number[]) => number;

type Ioctl = (fd: number, request: number, value: number[]) => number;

interface Libc {
  setsockopt: SetSockOpt;
  getsockopt: GetSockOpt;
  ioctl: Ioctl;
}

let libc: Libc | undefined | null;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const lib = koffi.load('libc.so.6');
    libc = {
      setsockopt: lib.func('int setsockopt(int, int, int, _In_ int *, uint32_t)') as SetSockOpt,
      getsockopt: lib.func('int getsockopt(int, int, int, _Out_ int *, _Inout_ uint32_t *)') as GetSockOpt,
      ioctl: lib.func('int ioctl(int, unsigned long, _Out_ int *)') as Ioctl,
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** The descriptor under a TCP or TLS socket, if it has one. */
function descriptor(socket: Socket): number | undefined {
  const handle = socket as unknown as { _handle?: { fd?: number }; _parent?: { _handle?: { fd?: number } } };
  const fd = handle._handle?.fd ?? handle._parent?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Caps what the kernel keeps unsent in a TCP socket's send queue (TCP_NOTSENT_LOWAT): the
 * socket stops taking writes beyond it, so a backlog for a slow peer stays in the proxy, where
 * it is measured and bounded, instead of hiding in a send buffer of megabytes. Returns whether
 * the kernel took it.
 */
export function limitUnsentBytes(socket: Socket, bytes: number): boolean {
  const c = loadLibc();
  const fd = descriptor(socket);
  return c !== null && fd !== undefined && c.setsockopt(fd, SOL_TCP, TCP_NOTSENT_LOWAT, [bytes], 4) === 0;
}

/**
 * Fixes a socket's receive buffer (SO_RCVBUF; the kernel doubles it and stops growing it): on
 * the display's socket, so that when the relay stops reading, the display's TCP window closes
 * after that much rather than after the megabytes Linux grows a fast socket's buffer to.
 */
export function limitReceiveBuffer(socket: Socket, bytes: number): boolean {
  const c = loadLibc();
  const fd = descriptor(socket);
  return c !== null && fd !== undefined && c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, [bytes], 4) === 0;
}

/** Bytes the kernel holds in a TCP socket's send queue not yet sent (not those in flight): for tests and diagnostics. */
export function unsentBytes(socket: Socket): number | undefined {
  const c = loadLibc();
  const fd = descriptor(socket);
  const value = [0];
  if (!c || fd === undefined || c.ioctl(fd, SIOCOUTQNSD, value) !== 0) return undefined;
  return value[0];
}

/** The TCP_NOTSENT_LOWAT a socket carries (0 when unset): for tests and diagnostics. */
export function unsentLimit(socket: Socket): number | undefined {
  const c = loadLibc();
  const fd = descriptor(socket);
  const value = [0];
  if (!c || fd === undefined || c.getsockopt(fd, SOL_TCP, TCP_NOTSENT_LOWAT, value, [4]) !== 0) return undefined;
  return value[0];
}

export class TrafficMarker {
  #warned = false;

  constructor(readonly log: Logger) {}

  /** Sets the socket's DSCP, then its priority (on Linux, setting IP_TOS rewrites the priority). */
  mark(socket: Socket, traffic: TrafficClass): boolean {
    const c = loadLibc();
    const fd = descriptor(socket);
    const failure = !c ? 'libc could not be loaded (not Linux?)' : fd === undefined ? 'the socket has no descriptor' : undefined;
    if (failure) return this.#fail(failure);
    const v6 = socket.remoteFamily === 'IPv6' || socket.localAddress?.includes(':') === true;
    const tos = v6
      ? c!.setsockopt(fd!, IPPROTO_IPV6, IPV6_TCLASS, [traffic.dscp << 2], 4)
      : c!.setsockopt(fd!, IPPROTO_IP, IP_TOS, [traffic.dscp << 2], 4);
    const priority = c!.setsockopt(fd!, SOL_SOCKET, SO_PRIORITY, [traffic.priority], 4);
    if (tos !== 0 || priority !== 0) return this.#fail(`setsockopt failed (priority ${traffic.priority}, DSCP ${traffic.dscp})`);
    return true;
  }

  /** What a socket carries now, read back from the kernel: for tests and diagnostics. */
  static read(socket: Socket): TrafficClass | undefined {
    const c = loadLibc();
    const fd = descriptor(socket);
    if (!c || fd === undefined) return undefined;
    const value = [0];
    const priority = [0];
    const v6 = socket.remoteFamily === 'IPv6';
    if (c.getsockopt(fd, SOL_SOCKET, SO_PRIORITY, priority, [4]) !== 0) return undefined;
    if (c.getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS, value, [4]) !== 0) return undefined;
    return { priority: priority[0]!, dscp: value[0]! >> 2 };
  }

  #fail(why: string): false {
    if (!this.#warned) {
      this.#warned = true;
      this.log.warn(`traffic marking is not applied: ${why}; sessions go on unmarked (this is logged once)`);
    }
    return false;
  }
}
