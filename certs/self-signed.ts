// Development TLS material: a self-signed server certificate made on first start when no
// certificate is configured, so `npm start` serves HTTPS out of the box. Production sets
// PORTHOLE_TLS_CERT and PORTHOLE_TLS_KEY.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/** certs/local in the repository (dist/certs/ -> ../../certs/local). */
export const LOCAL_CERT_DIR = fileURLToPath(new URL('../../certs/local/', import.meta.url));

export interface CertificatePaths {
  cert: string;
  key: string;
}

/**
 * Returns a certificate for `hostname` (plus localhost and 127.0.0.1), made now unless a valid
 * one for the same names exists in `dir`.
 */
export async function ensureSelfSignedCertificate(hostname: string, dir = LOCAL_CERT_DIR): Promise<CertificatePaths> {
  const cert = join(dir, 'porthole.crt');
  const key = join(dir, 'porthole.key');
  const names = [...new Set([hostname, 'localhost', '127.0.0.1'])];
  if (existsSync(cert) && existsSync(key)) {
    const existing = new X509Certificate(readFileSync(cert));
    const fresh = new Date(existing.validTo).getTime() > Date.now() + 7 * 86_400_000;
    if (fresh && names.every((n) => (isIP(n) ? existing.checkIP(n) : existing.checkHost(n)) !== undefined)) return { cert, key };
  }
  const now = new Date();
  const generated = await generate(
    [
      { name: 'commonName', value: hostname },
      { name: 'organizationName', value: 'Porthole (self-signed)' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 3600_000),
      notAfterDate: new Date(now.getTime() + 365 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
      ],
    },
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(key, generated.private, { mode: 0o600 });
  writeFileSync(cert, generated.cert, { mode: 0o644 });
  return { cert, key };
}
