// What one Porthole process keeps across a restart when it runs alone (no PORTHOLE_REDIS):
// sign-ins and sign-in lockouts, in SQLite (Node's built-in node:sqlite) at
// PORTHOLE_DATA/state.db. SQLite rather than a file of our own: writes are atomic and durable,
// and a crash mid-write leaves the last good state. Sign-ins are stored under a digest of their
// cookie, so the file holds nothing a browser could sign in with.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const STATE_FILE = 'state.db';

export class StateDatabase {
  readonly db: DatabaseSync;

  /** @param dataDir PORTHOLE_DATA, or undefined for a database in memory (tests) */
  constructor(dataDir?: string) {
    let path = ':memory:';
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      path = join(dataDir, STATE_FILE);
    }
    this.db = new DatabaseSync(path);
    if (dataDir) chmodSync(path, 0o600);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS sign_ins (
        id_digest TEXT PRIMARY KEY, username TEXT NOT NULL, binding TEXT NOT NULL UNIQUE, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS sign_ins_by_user ON sign_ins (username);
      CREATE TABLE IF NOT EXISTS lockouts (
        name TEXT PRIMARY KEY, failures INTEGER NOT NULL, locks INTEGER NOT NULL, locked_until INTEGER NOT NULL, last_failure INTEGER NOT NULL);
    `);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
