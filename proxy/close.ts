// How a proxied connection ends: a WebSocket close code (contract/close-codes.ts) and a reason a
// person can read.
// Reasons go to the browser; details (which may name hosts) go only to the log.
import type { WebSocket } from 'ws';
import { CloseCode, type CloseCodeValue } from '../contract/close-codes.js';

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
  return (
    bytes
      .subarray(0, 120)
      .toString('utf8')
      .replace(/\uFFFD*$/, '') + '...'
  );
}

/** A code that may be sent in a close frame: 1005, 1006 and 1015 only describe closes. */
export function sendableCode(code: number): number {
  return code === 1000 || code === 1001 || code === 1012 || (code >= 4000 && code <= 4999) ? code : CloseCode.normal;
}

/** Closes a WebSocket with a code and reason; a peer that never answers the close is dropped. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
  ws.close(sendableCode(code), closeReason(reason));
  setTimeout(() => ws.terminate(), 2000).unref();
}
