// What the whole test run must keep out of every log: each secret the test bed hands out (user
// and display passwords, sign-in cookies, display tokens) and each line a gateway logged, written
// under the run's own folder (PORTHOLE_TEST_RUN_DIR, made by test/run.ts), so that the run's last
// file, test/security/log-secrecy.test.ts, can check every log against every secret at the end.
// Outside test/run.ts (no such folder) nothing is recorded.
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

export const RUN_DIR = process.env.PORTHOLE_TEST_RUN_DIR;

export interface RecordedSecret {
  kind: string;
  value: string;
  /** The test file that handed it out. */
  file: string;
}

const file = basename(process.argv[1] ?? 'unknown');

function append(name: string, line: string): void {
  if (!RUN_DIR) return;
  mkdirSync(join(RUN_DIR, 'logs'), { recursive: true, mode: 0o700 });
  appendFileSync(join(RUN_DIR, name), line, { mode: 0o600 });
}

/** Records a secret the test bed handed out (ignored when empty). */
export function recordSecret(kind: string, value: string | undefined): void {
  if (!value) return;
  append('secrets.jsonl', `${JSON.stringify({ kind, value, file } satisfies RecordedSecret)}\n`);
}

let gateways = 0;

/** A function that records one gateway's log lines, as written, in a file of its own. */
export function gatewayLogRecorder(): (chunk: string) => void {
  const name = join('logs', `${file}-${process.pid}-${++gateways}.log`);
  append('gateways.jsonl', `${JSON.stringify({ log: name, file })}\n`);
  append(name, '');
  return (chunk) => append(name, chunk);
}

/** A display token, and its signature alone (a log that cut the token short would still show it). */
export function recordToken(token: string | undefined): void {
  recordSecret('display token', token);
  recordSecret('display token signature', token?.split('.')[2]);
}
