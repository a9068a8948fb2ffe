// TLS from the proxy to a display, started on a connection whose cleartext handshake is done
// (RDP after its X.224 exchange). Certificate checks belong to the caller: this only runs the
// TLS handshake within a deadline and reports failures in the user's words, with the TLS alert.
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { DisplayEnd, SecureDisplayEnd } from '../adapter.js';
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import { displayEnd } from '../display-end.js';

/** OpenSSL's alert names (as in ERR_SSL_..._ALERT_<NAME>) to RFC 8446 alert numbers. */
const ALERTS: Record<string, number> = {
  UNEXPECTED_MESSAGE: 10,
  BAD_RECORD_MAC: 20,
  RECORD_OVERFLOW: 22,
  HANDSHAKE_FAILURE: 40,
  BAD_CERTIFICATE: 42,
  UNSUPPORTED_CERTIFICATE: 43,
  CERTIFICATE_REVOKED: 44,
  CERTIFICATE_EXPIRED: 45,
  CERTIFICATE_UNKNOWN: 46,
  ILLEGAL_PARAMETER: 47,
  UNKNOWN_CA: 48,
  ACCESS_DENIED: 49,
  DECODE_ERROR: 50,
  DECRYPT_ERROR: 51,
  PROTOCOL_VERSION: 70,
  INSUFFICIENT_SECURITY: 71,
  INTERNAL_ERROR: 80,
  CERTIFICATE_REQUIRED: 116,
  NO_APPLICATION_PROTOCOL: 120,
};

/** The TLS alert behind a Node TLS error: the one received, else handshake_failure. */
export function tlsAlertOf(error: NodeJS.ErrnoException): number {
  const name = /ALERT_([A-Z_]+)$/.exec(error.code ?? '')?.[1];
  return (name && ALERTS[name]) || ALERTS.HANDSHAKE_FAILURE!;
}

/**
 * Starts TLS on `display` and resolves once the handshake is done. Nothing is verified here:
 * the caller checks `socket.authorized` and the certificate against its policy.
 * @param label the protocol's name for messages ("RDP")
 */
export function secureDisplay(
  display: DisplayEnd,
  label: string,
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<SecureDisplayEnd> {
  if (display.inbox.length > 0) {
    display.socket.destroy();
    return Promise.reject(
      new ProxyError(
        CloseCode.protocolError,
        `The desktop's ${label} server sent data before TLS started.`,
        `${display.inbox.length} unexpected bytes before TLS`,
      ),
    );
  }
  display.release();
  const host = display.endpoint.host;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      ...options,
      socket: display.socket,
      // The policy decides: `authorized` reports the chain alone, the caller checks the name.
      rejectUnauthorized: false,
      host,
      checkServerIdentity: () => undefined,
      ...(isIP(host) ? {} : { servername: host }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ProxyError(
          CloseCode.displayUnreachable,
          `The desktop's ${label} server did not complete TLS.`,
          `TLS handshake with ${host} timed out after ${timeoutMs} ms`,
          { errno: 'ETIMEDOUT' },
        ),
      );
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ProxyError(
          CloseCode.displayUnreachable,
          `TLS with the desktop's ${label} server failed.`,
          `TLS handshake with ${host}: ${error.code ?? ''} ${error.message}`,
          { tlsAlert: tlsAlertOf(error) },
        ),
      );
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(displayEnd(socket, display.endpoint, display.desktop, label, display.inbox.limit));
    });
  });
}
