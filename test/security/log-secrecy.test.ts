// The last file of every run (test/run.ts puts it there): no secret that the test bed handed out
// during the whole run (user and display passwords, sign-in cookies, display tokens) appears in
// any log line any test gateway wrote (test/bed/secret-record.ts records both).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RUN_DIR, type RecordedSecret } from '../bed/secret-record.js';

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

test('no secret handed out during the run reaches any gateway log', () => {
  assert.ok(RUN_DIR, 'PORTHOLE_TEST_RUN_DIR is not set: run this file through test/run.js, after the others');
  const dir: string = RUN_DIR;
  assert.ok(existsSync(dir), `the run's folder ${dir} is missing`);
  const gateways = lines(join(dir, 'gateways.jsonl')).map((l) => JSON.parse(l) as { log: string; file: string });
  const secrets = lines(join(dir, 'secrets.jsonl')).map((l) => JSON.parse(l) as RecordedSecret);
  const logs = gateways.map((g) => ({ ...g, text: existsSync(join(dir, g.log)) ? readFileSync(join(dir, g.log), 'utf8') : undefined }));
  for (const g of logs) assert.notEqual(g.text, undefined, `the log of a gateway started by ${g.file} was not recorded`);
  if (gateways.length > 0) {
    assert.ok(
      logs.some((g) => g.text!.includes('"msg"')),
      'gateways ran but no log line was recorded',
    );
    assert.ok(
      secrets.some((s) => s.kind === 'user password'),
      'gateways ran with users but no password was recorded',
    );
  }
  const unique = new Map(secrets.map((s) => [s.value, s]));
  const leaks: string[] = [];
  for (const secret of unique.values()) {
    for (const g of logs) {
      const at = g.text!.indexOf(secret.value);
      if (at >= 0) {
        leaks.push(
          `${secret.kind} from ${secret.file} (${secret.value.slice(0, 3)}…) in the log of a gateway of ${g.file}: …${g.text!.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ')}[secret]`,
        );
      }
    }
  }
  const kinds = [...new Set(secrets.map((s) => s.kind))].sort();
  const size = logs.reduce((n, g) => n + g.text!.length, 0);
  console.log(`# log secrecy: ${unique.size} secrets (${kinds.join(', ')}) checked against ${logs.length} gateway logs, ${size} bytes`);
  assert.deepEqual(leaks, [], `secrets in the logs:\n${leaks.join('\n')}`);
});
