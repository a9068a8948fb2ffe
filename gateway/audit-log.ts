// The audit trail kept as append-only JSON lines under PORTHOLE_DATA (audit.log), apart from the
// service log so that it can be kept longer and read by other people. The file is rotated when it
// reaches its size bound (audit-<time>-<n>.log beside it) and rotated files older than the retention
// are deleted; a search reads the rotated files and the current one, oldest first.
// With the cluster's Redis set, every node appends to one shared trail there instead
// (gateway/state/redis-audit-trail.ts), and searches read it: every node's events in one trail.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, AuditTrail, RecordedEvent } from '../contract/audit.js';
import { SignInIndex, type SignInSummary } from './audit-sign-ins.js';

export type { AuditEvent, RecordedEvent } from '../contract/audit.js';

export interface AuditRetention {
  /** Rotate when the current file reaches this size. */
  rotateBytes: number;
  /** Delete rotated files whose last event is older than this. */
  keepDays: number;
}

export const DEFAULT_RETENTION: AuditRetention = { rotateBytes: 64 * 1024 * 1024, keepDays: 400 };

export interface AuditQuery {
  /** Events at or after this time. */
  since?: Date;
  user?: string;
  desktop?: string;
  /** At most this many, the newest (default 1,000). */
  limit?: number;
}

/** The trail shared by every node (Redis): appended to, searched, and its sign-ins indexed. */
export interface SharedAuditTrail {
  /** Rejects when the event could not be kept. */
  append(event: RecordedEvent): Promise<void>;
  search(query: AuditQuery): Promise<RecordedEvent[]>;
  signIns(since: Date, shown: number): Promise<Map<string, SignInSummary>>;
}

export interface SharingOptions {
  trail: SharedAuditTrail;
  /** Where an event that could not be kept is said to be lost (with the event: it holds no secret). */
  log: { error(details: object, message: string): void };
}

/** audit-<UTC time>-<n>.log: names sort in the order they were rotated. */
const ROTATED = /^audit-\d{8}T\d{9}Z-\d{3}\.log$/;

export class AuditLog implements AuditTrail {
  readonly path: string;
  readonly #dir: string;
  #bytes: number | undefined;
  readonly #listeners = new Set<(event: AuditEvent) => void>();
  readonly #shared: SharingOptions | undefined;
  #signIns: SignInIndex | undefined;

  constructor(
    dataDir: string,
    readonly retention: AuditRetention = DEFAULT_RETENTION,
    shared?: SharingOptions,
  ) {
    this.#shared = shared;
    this.#dir = dataDir;
    this.path = join(dataDir, 'audit.log');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  }

  /** Calls `listener` with every event recorded from now on (metrics count them). */
  onRecord(listener: (event: AuditEvent) => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Synchronous into the file, so an event is on disk before the answer that reports it leaves.
   * Into Redis it is sent at once, in order on the process's one connection; one that Redis
   * refuses, or cannot take while it is unreachable, is logged as lost, with its content.
   */
  record(entry: AuditEvent): void {
    const recorded: RecordedEvent = { at: new Date().toISOString(), ...entry };
    const shared = this.#shared;
    if (shared) {
      shared.trail.append(recorded).catch((error: unknown) => {
        shared.log.error(
          { audit: recorded, reason: (error as Error).message },
          'audit event lost: the shared trail in Redis could not take it',
        );
      });
    } else {
      this.#append(recorded);
    }
    for (const listener of this.#listeners) listener(entry);
  }

  #append(recorded: RecordedEvent): void {
    const line = `${JSON.stringify(recorded)}\n`;
    this.#bytes ??= this.#size();
    if (this.#bytes > 0 && this.#bytes + line.length > this.retention.rotateBytes) this.#rotate();
    appendFileSync(this.path, line, { mode: 0o600 });
    this.#bytes += Buffer.byteLength(line);
    this.#signIns?.add(recorded);
  }

  /** Matching events, oldest first (the newest last), at most `limit` of the newest; from Redis when shared. */
  async search(query: AuditQuery = {}): Promise<RecordedEvent[]> {
    return this.#shared ? this.#shared.trail.search(query) : this.#searchFiles(query);
  }

  /**
   * Users who signed in at or after `since`, with their count and newest `shown` sign-ins. From an
   * index (in memory for the file, in Redis when shared), not a read of the whole trail.
   */
  async signIns(since: Date, shown: number): Promise<Map<string, SignInSummary>> {
    if (this.#shared) return this.#shared.trail.signIns(since, shown);
    if (!this.#signIns || since.getTime() < this.#signIns.from) {
      // Built once by reading the trail from `since`; from then on each sign-in recorded is added.
      const index = new SignInIndex(since.getTime());
      for (const event of this.#searchFiles({ since, limit: Number.POSITIVE_INFINITY })) index.add(event);
      this.#signIns = index;
    }
    return this.#signIns.summary(since.getTime(), shown);
  }

  #searchFiles(query: AuditQuery): RecordedEvent[] {
    const limit = query.limit ?? 1000;
    const since = query.since?.getTime();
    const found: RecordedEvent[] = [];
    for (const file of [...this.#rotated().map((f) => join(this.#dir, f)), this.path]) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        let event: RecordedEvent;
        try {
          event = JSON.parse(line) as RecordedEvent;
        } catch {
          continue; // a line cut by a crash mid-write: the rest of the trail stands
        }
        if (since !== undefined && !(Date.parse(event.at) >= since)) continue;
        if (query.user !== undefined && event.user !== query.user && event.admin !== query.user && event.asker !== query.user) continue;
        if (query.desktop !== undefined && event.desktop !== query.desktop) continue;
        found.push(event);
        if (found.length > limit) found.shift();
      }
    }
    return found;
  }

  #size(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /** Rotated files, oldest first (their names sort by time). */
  #rotated(): string[] {
    return readdirSync(this.#dir)
      .filter((f) => ROTATED.test(f))
      .sort();
  }

  #rotate(): void {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
    // Two rotations in one millisecond must neither overwrite each other nor sort out of order.
    let n = 0;
    for (const file of this.#rotated()) if (file.startsWith(`audit-${stamp}-`)) n = Math.max(n, Number(file.slice(-7, -4)) + 1);
    renameSync(this.path, join(this.#dir, `audit-${stamp}-${String(n).padStart(3, '0')}.log`));
    this.#bytes = 0;
    const cutoff = Date.now() - this.retention.keepDays * 86_400_000;
    for (const file of this.#rotated()) {
      const path = join(this.#dir, file);
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { force: true });
    }
  }
}
