// Who did what to whose desktop, appended as JSON lines to PORTHOLE_DATA/audit.log, apart from
// the service log so that it can be kept longer and read by other people.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface AuditEvent {
  event: string;
  [field: string]: string | boolean | number | undefined;
}

export class AuditLog {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'audit.log');
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
  }

  /** Synchronous, so an event is on disk before the answer that reports it leaves. */
  record(entry: AuditEvent): void {
    appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`, { mode: 0o600 });
  }
}
