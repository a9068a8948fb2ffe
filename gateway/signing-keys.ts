// The broker's token signing key: an ECDSA P-256 pair under PORTHOLE_DATA/keys, made on first
// start. The private key stays with the broker; the proxy gets the public key only.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SigningKey {
  /** Key id: a digest of the public key, so each key names itself. */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function kidOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
}

export function loadOrCreateSigningKey(dataDir: string): SigningKey {
  const dir = join(dataDir, 'keys');
  const path = join(dir, 'token-signing.pem');
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, pem, { mode: 0o600 });
    renameSync(tmp, path);
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  // Published for a proxy that runs on its own host.
  writeFileSync(join(dir, 'token-signing.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
  return { kid: kidOf(publicKey), privateKey, publicKey };
}
