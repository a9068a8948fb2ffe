// Whether the proxy trusts an RDP server's certificate. The browser cannot check it (IronRDP
// receives the chain from the gateway and takes it as given), so this is the only place where a
// man in the middle between Porthole and the desktop can be stopped. Two policies: a CA the
// operator configures (chain and name verified, as a browser would), or trust on first use,
// where the first certificate seen for a desktop is pinned and any other is refused.
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { CloseCode, ProxyError } from '../close.js';
import type { CertificatePins } from './certificate-pins.js';

/** TLS alerts the web client shows for a refused certificate (RFC 8446 6.2). */
const BAD_CERTIFICATE = 42;
const UNKNOWN_CA = 48;

export interface CertificateTrust {
  /** Extra options for tls.connect (the CA to verify against). */
  readonly tlsOptions: { ca?: string | Buffer };
  /** Throws ProxyError when the server's certificate is not trusted for this desktop at `host`. */
  check(desktop: string, host: string, socket: TLSSocket): void;
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
  return Object.entries(cert.subject ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** Verifies the chain against the operator's CA and the certificate's name against the host. */
export class CaTrust implements CertificateTrust {
  readonly name = 'CA';
  readonly tlsOptions: { ca: string | Buffer };

  constructor(caPem: string | Buffer) {
    this.tlsOptions = { ca: caPem };
  }

  check(desktop: string, host: string, socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    if (!socket.authorized) {
      throw new ProxyError(CloseCode.displayUntrusted,
        "The desktop's RDP certificate is not from the authority Porthole trusts; Porthole did not connect. Ask your administrator.",
        `RDP certificate of ${desktop} (${names(cert)}) refused: ${String(socket.authorizationError)}`, { tlsAlert: UNKNOWN_CA });
    }
    const mismatch = checkServerIdentity(host, cert);
    if (mismatch) {
      throw new ProxyError(CloseCode.displayUntrusted,
        "The desktop's RDP certificate names another machine; Porthole did not connect. Ask your administrator.",
        `RDP certificate of ${desktop} does not name ${host}: ${mismatch.message}`, { tlsAlert: BAD_CERTIFICATE });
    }
  }
}

/** Trust on first use: pins the first certificate seen per desktop, refuses any other later. */
export class PinTrust implements CertificateTrust {
  readonly name = 'pinned on first use';
  readonly tlsOptions = {};

  constructor(readonly pins: CertificatePins, readonly now: () => Date = () => new Date()) {}

  check(desktop: string, _host: string, socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    if (!cert?.fingerprint256) {
      throw new ProxyError(CloseCode.displayUntrusted, 'The desktop\'s RDP server sent no certificate.', `RDP server of ${desktop} sent no certificate`,
        { tlsAlert: BAD_CERTIFICATE });
    }
    const pin = this.pins.get(desktop);
    if (!pin) {
      this.pins.record({
        desktop,
        fingerprint: cert.fingerprint256,
        subject: names(cert),
        issuer: Object.entries(cert.issuer ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
        validTo: cert.valid_to,
        firstSeen: this.now().toISOString(),
      });
      return;
    }
    if (pin.fingerprint !== cert.fingerprint256) {
      throw new ProxyError(CloseCode.displayUntrusted,
        "The desktop's RDP certificate changed since Porthole first saw it; Porthole did not connect. Ask your administrator.",
        `RDP certificate of ${desktop} is ${cert.fingerprint256}, pinned ${pin.fingerprint}`, { tlsAlert: BAD_CERTIFICATE });
    }
  }
}
