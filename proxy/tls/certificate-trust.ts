// Whether the proxy trusts a display's TLS certificate (an RDP server's, or a hypervisor's SPICE
// and VNC displays'). The browser cannot check it (it only sees what the proxy relays), so this
// is the only place where a machine in the middle between Porthole and a desktop can be stopped.
// Two policies: a CA the operator configures (chain and name verified, as a browser would), or,
// for RDP, trust on first use: the first certificate seen for a desktop is pinned, any other refused.
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import type { CertificatePins } from './certificate-pins.js';

/** TLS alerts the web client shows for a refused certificate (RFC 8446 6.2). */
const BAD_CERTIFICATE = 42;
const UNKNOWN_CA = 48;

export interface CertificateTrust {
  /** Extra options for tls.connect (the CA to verify against, a client certificate to present). */
  readonly tlsOptions: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /**
   * Throws ProxyError when the server's certificate is not trusted for this desktop at `host`.
   * @param label the protocol, for the user's message ("RDP", "SPICE", "VNC")
   */
  check(desktop: string, host: string, socket: TLSSocket, label: string): void;
  /** How the policy is described in logs and the README ("CA", "pinned on first use"). */
  readonly name: string;
}

/** The server's certificate chain as DER, leaf first, as the web client expects it. */
export function certificateChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256) && chain.length < 16) {
    seen.add(cert.fingerprint256);
    chain.push(cert.raw);
    cert = cert.issuerCertificate as typeof cert;
  }
  return chain;
}

function names(cert: PeerCertificate): string {
  return Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

/**
 * Verifies the chain against the operator's CA and the certificate's name against the host;
 * presents a client certificate when given one (VeNCrypt displays that verify their peers).
 */
export class CaTrust implements CertificateTrust {
  readonly name = 'CA';
  readonly tlsOptions: { ca: string | Buffer; cert?: string | Buffer; key?: string | Buffer };

  constructor(caPem: string | Buffer, client?: { cert: string | Buffer; key: string | Buffer }) {
    this.tlsOptions = { ca: caPem, ...(client ? { cert: client.cert, key: client.key } : {}) };
  }

  check(desktop: string, host: string, socket: TLSSocket, label: string): void {
    const cert = socket.getPeerCertificate();
    if (!socket.authorized) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `Porthole does not trust the desktop's ${label} certificate (unknown authority) and did not connect. Ask your administrator.`,
        `${label} certificate of ${desktop} (${names(cert)}) refused: ${String(socket.authorizationError)}`,
        { tlsAlert: UNKNOWN_CA },
      );
    }
    const mismatch = checkServerIdentity(host, cert);
    if (mismatch) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `The desktop's ${label} certificate names another machine; Porthole did not connect. Ask your administrator.`,
        `${label} certificate of ${desktop} does not name ${host}: ${mismatch.message}`,
        { tlsAlert: BAD_CERTIFICATE },
      );
    }
  }
}

/** Trust on first use (RDP): pins the first certificate seen per desktop, refuses any other later. */
export class PinTrust implements CertificateTrust {
  readonly name = 'pinned on first use';
  readonly tlsOptions = {};

  constructor(
    readonly pins: CertificatePins,
    readonly now: () => Date = () => new Date(),
  ) {}

  check(desktop: string, _host: string, socket: TLSSocket, label: string): void {
    const cert = socket.getPeerCertificate();
    if (!cert?.fingerprint256) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `The desktop's ${label} server sent no certificate.`,
        `${label} server of ${desktop} sent no certificate`,
        { tlsAlert: BAD_CERTIFICATE },
      );
    }
    const pin = this.pins.get(desktop);
    if (!pin) {
      this.pins.record({
        desktop,
        fingerprint: cert.fingerprint256,
        subject: names(cert),
        issuer: Object.entries(cert.issuer ?? {})
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', '),
        validTo: cert.valid_to,
        firstSeen: this.now().toISOString(),
      });
      return;
    }
    if (pin.fingerprint !== cert.fingerprint256) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `The desktop's ${label} certificate changed since Porthole first saw it; Porthole did not connect. Ask your administrator.`,
        `${label} certificate of ${desktop} is ${cert.fingerprint256}, pinned ${pin.fingerprint}`,
        { tlsAlert: BAD_CERTIFICATE },
      );
    }
  }
}
