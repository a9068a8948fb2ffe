// RDP server certificates pinned on first use: the proxy pins and checks them, administrators
// see and forget them through the gateway.

export interface CertificatePin {
  desktop: string;
  /** SHA-256 of the DER certificate, colon-separated hex as OpenSSL prints it. */
  fingerprint: string;
  subject: string;
  issuer: string;
  validTo: string;
  firstSeen: string;
}

/** What the gateway may do with the pins: show them, and forget one. */
export interface CertificatePinStore {
  list(): CertificatePin[];
  get(desktop: string): CertificatePin | undefined;
  /** Forgets a desktop's pin, so that its next connection pins what it sees; false if none. */
  forget(desktop: string): boolean;
}
