// How a proxied connection ends: a WebSocket close code and a reason a person can read.
// Reasons go to the browser; details (which may name hosts) go only to the log.
import type { WebSocket } from 'ws';

export const CloseCode = {
  normal: 1000,
  shuttingDown: 1001,
  /** The token is missing, malformed, expired or already used. */
  badToken: 4001,
  /** The token is valid but does not allow this (other user, other IP, view-only, ...). */
  forbidden: 4003,
  /** The desktop in the token is gone from the inventory. */
  unknownDesktop: 4004,
  /** The desktop is not running or has no such display. */
  unavailable: 4009,
  /** The display did not answer or refused the connection. */
  displayUnreachable: 4010,
  /** The display refused the proxy's credentials. */
  displayAuthFailed: 4011,
  /** The display's TLS certificate is not trusted (wrong CA, wrong name, changed since pinned). */
  displayUntrusted: 4012,
  /** The browser or the display sent something that is not the protocol. */
  protocolError: 4400,
  /** No traffic for the idle limit. */
  idle: 4408,
  /** The session reached its maximum duration. */
  maxDuration: 4409,
  /** An administrator ended the session. */
  endedByAdmin: 4410,
  /** The helpdesk's shadowing ended (by the user, the helpdesk, or with the watched session). */
  shadowEnded: 4411,
  /** The browser the session was opened from signed out. */
  signedOut: 4412,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Where a network or TLS failure came from, for protocols that report it in their own terms (RDCleanPath). */
export interface FailureCause {
  /** The socket error, e.g. ECONNREFUSED, ETIMEDOUT. */
  errno?: string;
  /** The TLS alert that ended (or should end) a TLS handshake. */
  tlsAlert?: number;
}

/** A failure that ends one connection. `reason` is for the user; `detail` for the log. */
export class ProxyError extends Error {
  constructor(
    readonly code: CloseCodeValue,
    readonly reason: string,
    readonly detail: string = reason,
    readonly transport: FailureCause = {},
  ) {
    super(detail);
    this.name = 'ProxyError';
  }
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
export function closeReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= 123) return reason;
  return bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD*$/, '') + '...';
}

/** A code that may be sent in a close frame: 1005, 1006 and 1015 only describe closes. */
export function sendableCode(code: number): number {
  return code === 1000 || code === 1001 || (code >= 4000 && code <= 4999) ? code : CloseCode.normal;
}

/** Closes a WebSocket with a code and reason; a peer that never answers the close is dropped. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
  ws.close(sendableCode(code), closeReason(reason));
  setTimeout(() => ws.terminate(), 2000).unref();
}
