// The broker's token signing keys: ECDSA P-256 pairs under PORTHOLE_DATA/keys, the first made on
// first start. The newest signs; the previous one still verifies, so that rotating the key
// (`porthole keys rotate`) drops no live session (SPICE channels join sessions with the token
// that opened them). Private keys stay with the broker; the proxy needs the public keys only,
// which are written beside them for a proxy that runs on its own host.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SigningKey {
  /** Key id: a digest of the public key, so each key names itself. */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** How many keys verify: the newest (which signs) and the one before it. */
const KEPT = 2;
const KEY_FILE = /^token-signing-(\d{8}T\d{6}\d{3}Z)\.pem$/;

function kidOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

export class SigningKeyRing {
  readonly dir: string;
  #keys: SigningKey[] = [];
  #loadedMtime = -1;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'keys');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // The single key of earlier versions becomes the oldest of the ring.
    const legacy = join(this.dir, 'token-signing.pem');
    if (existsSync(legacy)) renameSync(legacy, join(this.dir, `token-signing-${stamp(new Date(0))}.pem`));
    if (this.#files().length === 0) this.rotate();
    this.refresh();
  }

  #files(): string[] {
    return readdirSync(this.dir)
      .filter((f) => KEY_FILE.test(f))
      .sort();
  }

  /** Reads the keys again if the directory changed (a rotation by another process). Returns whether it did. */
  refresh(): boolean {
    if (statSync(this.dir).mtimeMs === this.#loadedMtime) return false;
    this.#load();
    return true;
  }

  #load(): void {
    this.#loadedMtime = statSync(this.dir).mtimeMs;
    this.#keys = this.#files()
      .slice(-KEPT)
      .map((file) => {
        const privateKey = createPrivateKey(readFileSync(join(this.dir, file), 'utf8'));
        const publicKey = createPublicKey(privateKey);
        return { kid: kidOf(publicKey), privateKey, publicKey };
      });
  }

  /** The key that signs now. */
  current(): SigningKey {
    return this.#keys.at(-1)!;
  }

  /** Every key that still verifies, newest last. */
  all(): SigningKey[] {
    return [...this.#keys];
  }

  /** Makes a new signing key; keys older than the previous one are removed. */
  rotate(): { current: SigningKey; removed: number } {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // Names sort in the order keys were made: two rotations within one millisecond must not
    // share a name (the second would replace the first key).
    let name = `token-signing-${stamp(new Date())}`;
    while (existsSync(join(this.dir, `${name}.pem`))) name = `token-signing-${stamp(new Date())}`;
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    writeFileSync(join(this.dir, `${name}.pub.pem`), createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), {
      mode: 0o644,
    });
    renameSync(tmp, join(this.dir, `${name}.pem`));
    const old = this.#files().slice(0, -KEPT);
    for (const file of old) {
      rmSync(join(this.dir, file));
      rmSync(join(this.dir, file.replace(/\.pem$/, '.pub.pem')), { force: true });
    }
    // Read again whatever the directory's time says: within its clock tick, refresh() would miss this rotation.
    this.#load();
    return { current: this.current(), removed: old.length };
  }
}

/** The current signing key of a data directory (made on first use). */
export function loadOrCreateSigningKey(dataDir: string): SigningKey {
  return new SigningKeyRing(dataDir).current();
}
