// Secrets the gateway makes for itself on first start, one file each under PORTHOLE_DATA/keys
// (mode 0600): the device cookies' signing key, the OpenID flow cookie's sealing key. Nodes that
// share PORTHOLE_DATA's keys share these too.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The 32-byte key in PORTHOLE_DATA/keys/`name`, made when it is not there yet. */
export function gatewayKey(dataDir: string, name: string): Buffer {
  const dir = join(dataDir, 'keys');
  const path = join(dir, name);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process of this node made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
}
