// A small certificate authority for displays: a CA certificate and host certificates it signs,
// as an operator makes for RDP servers (or, later, QEMU's SPICE/VNC x509 directories) so that
// Porthole can verify them. Tests make throwaway ones; keys never leave the directory they are
// written to. Built on selfsigned (node-forge/x509 underneath) rather than hand-written ASN.1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface KeyAndCertificate {
  /** PEM */
  cert: string;
  /** PEM, PKCS#8 */
  key: string;
}

const DAY_MS = 86_400_000;

/** A new CA valid for `days` days. */
export async function createAuthority(name: string, days = 365): Promise<KeyAndCertificate> {
  const now = Date.now();
  const made = await generate(
    [
      { name: 'commonName', value: name },
      { name: 'organizationName', value: 'Porthole display CA' },
    ],
    {
      // RSA like the host certificates: selfsigned signs with the CA key as the host key's type.
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 3600_000),
      notAfterDate: new Date(now + days * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  return { cert: made.cert, key: made.private };
}

/**
 * Writes the directory QEMU reads for TLS displays (SPICE `x509-dir`, VNC `tls-creds-x509`
 * `dir`; libvirt's /etc/pki/libvirt-spice and libvirt-vnc): ca-cert.pem, server-cert.pem,
 * server-key.pem.
 */
export function writeDisplayCredentials(dir: string, authority: KeyAndCertificate, server: KeyAndCertificate): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'ca-cert.pem'), authority.cert);
  writeFileSync(join(dir, 'server-cert.pem'), server.cert);
  writeFileSync(join(dir, 'server-key.pem'), server.key, { mode: 0o600 });
}

/**
 * A server certificate for `names` (host names and IP addresses, the first is the common name),
 * signed by `authority`. RSA, because RDP servers (FreeRDP, Windows) expect an RSA key.
 */
export async function issueHostCertificate(authority: KeyAndCertificate, names: string[], days = 30): Promise<KeyAndCertificate> {
  if (names.length === 0) throw new Error('a host certificate needs at least one name');
  const now = Date.now();
  const made = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 3600_000),
    notAfterDate: new Date(now + days * DAY_MS),
    ca: { key: authority.key, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      // Client auth too: the same kind of certificate identifies Porthole to displays that verify peers.
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
    ],
  });
  return { cert: made.cert, key: made.private };
}
