// RDP server certificates recorded on first use, one per desktop: the proxy pins the leaf's
// SHA-256 fingerprint the first time it connects and refuses any other certificate after that,
// until an administrator forgets the pin (the desktop was reinstalled). Kept in one JSON file
// in the data directory, written atomically, re-read when another process changed it.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificatePin, CertificatePinStore } from '../../contract/certificate-pins.js';

export type { CertificatePin } from '../../contract/certificate-pins.js';

export const PINS_FILE = 'rdp-certificates.json';

export class CertificatePins implements CertificatePinStore {
  readonly #path: string;
  #pins = new Map<string, CertificatePin>();
  #mtimeMs = -1;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#path = join(dataDir, PINS_FILE);
  }

  #load(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.#path).mtimeMs;
    } catch {
      this.#pins.clear();
      this.#mtimeMs = -1;
      return;
    }
    if (mtimeMs === this.#mtimeMs) return;
    const parsed = JSON.parse(readFileSync(this.#path, 'utf8')) as CertificatePin[];
    this.#pins = new Map(parsed.map((p) => [p.desktop, p]));
    this.#mtimeMs = mtimeMs;
  }

  #save(): void {
    const temporary = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify([...this.#pins.values()], null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.#path);
    this.#mtimeMs = statSync(this.#path).mtimeMs;
  }

  get(desktop: string): CertificatePin | undefined {
    this.#load();
    return this.#pins.get(desktop);
  }

  list(): CertificatePin[] {
    this.#load();
    return [...this.#pins.values()].sort((a, b) => a.desktop.localeCompare(b.desktop));
  }

  record(pin: CertificatePin): void {
    this.#load();
    this.#pins.set(pin.desktop, pin);
    this.#save();
  }

  /** Forgets a desktop's pin; the next connection records the certificate it then sees. */
  forget(desktop: string): boolean {
    this.#load();
    const had = this.#pins.delete(desktop);
    if (had) this.#save();
    return had;
  }
}
