// The audit trail's file: append-only JSON lines, rotated at its size bound, old files deleted
// after the retention, searched across rotated files by time, user and desktop, newest last.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AuditLog } from '../../gateway/audit-log.js';
import { SIGN_IN_WINDOW_DAYS } from '../../gateway/audit-sign-ins.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('events are found across rotations, filtered by user (acting or acted on), desktop and time, newest last', async () => {
  const data = join(dir, 'rotating');
  const audit = new AuditLog(data, { rotateBytes: 400, keepDays: 30 });
  for (let i = 0; i < 20; i++) audit.record({ event: 'sign-in', user: i % 2 ? 'alice' : 'bob', client: '192.0.2.1', n: i });
  audit.record({ event: 'session.ended', admin: 'ada', user: 'bob', desktop: 'd-1' });
  const rotated = readdirSync(data).filter((f) => /^audit-\d{8}T\d{9}Z-\d{3}\.log$/.test(f));
  assert.ok(rotated.length >= 3, `rotated into ${rotated.length} files`);
  const all = await audit.search();
  assert.equal(all.length, 21);
  assert.deepEqual(
    all.slice(0, 20).map((e) => e.n),
    [...Array(20).keys()],
    'oldest first, across files',
  );
  assert.equal((await audit.search({ user: 'alice' })).length, 10);
  assert.deepEqual(
    (await audit.search({ user: 'ada' })).map((e) => e.event),
    ['session.ended'],
  );
  assert.deepEqual(
    (await audit.search({ desktop: 'd-1' })).map((e) => e.admin),
    ['ada'],
  );
  assert.equal((await audit.search({ since: new Date(Date.now() + 60_000) })).length, 0);
  assert.equal((await audit.search({ since: new Date(Date.parse(all[0]!.at)) })).length, 21);
  assert.deepEqual(
    (await audit.search({ limit: 2 })).map((e) => e.event),
    ['sign-in', 'session.ended'],
    'the newest, still newest last',
  );
});

test('a line cut by a crash is skipped, not fatal; rotated files past the retention are deleted', async () => {
  const data = join(dir, 'retention');
  const audit = new AuditLog(data, { rotateBytes: 300, keepDays: 1 });
  audit.record({ event: 'first' });
  appendFileSync(audit.path, '{"at":"2026-12-0');
  appendFileSync(audit.path, '\n');
  audit.record({ event: 'second' });
  assert.deepEqual(
    (await audit.search()).map((e) => e.event),
    ['first', 'second'],
  );
  // Rotate, age the rotated files past the retention, rotate again: what they held goes.
  for (let i = 0; i < 5; i++) audit.record({ event: 'filler', id: `a${i}`, text: 'x'.repeat(80) });
  const old = readdirSync(data).filter((f) => f.startsWith('audit-'));
  assert.ok(old.length >= 1);
  const name = (line: string) => {
    try {
      const e = JSON.parse(line) as { id?: string; event: string };
      return [e.id ?? e.event];
    } catch {
      return []; // the cut line
    }
  };
  const aged = old.flatMap((f) => readFileSync(join(data, f), 'utf8').trim().split('\n').flatMap(name));
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  for (const f of old) utimesSync(join(data, f), twoDaysAgo, twoDaysAgo);
  for (let i = 0; i < 5; i++) audit.record({ event: 'filler', id: `b${i}`, text: 'y'.repeat(80) });
  const kept = (await audit.search()).map((e) => String(e.id ?? e.event));
  assert.deepEqual(
    kept.filter((k) => aged.includes(k)),
    [],
    `aged events still found (aged: ${aged.join(' ')})`,
  );
  for (let i = 0; i < 5; i++) assert.ok(kept.includes(`b${i}`), `recent event b${i} lost: ${kept.join(' ')}`);
});

test('the user list reads an index of sign-ins: one read of the trail, then each sign-in recorded is added', async () => {
  const data = join(dir, 'sign-ins');
  const audit = new AuditLog(data, { rotateBytes: 500, keepDays: 400 });
  const old = new Date(Date.now() - (SIGN_IN_WINDOW_DAYS + 1) * 86_400_000).toISOString();
  appendFileSync(audit.path, `${JSON.stringify({ at: old, event: 'sign-in', user: 'carol', client: '192.0.2.9' })}\n`);
  for (let i = 0; i < 7; i++) audit.record({ event: 'sign-in', user: 'alice', client: `192.0.2.${i}` });
  audit.record({ event: 'sign-in.refused', user: 'bob', reason: 'password' });
  audit.record({ event: 'sign-in', user: 'bob', client: '198.51.100.1' });
  const since = new Date(Date.now() - SIGN_IN_WINDOW_DAYS * 86_400_000);
  const first = await audit.signIns(since, 5);
  assert.deepEqual([...first.keys()].sort(), ['alice', 'bob'], 'carol signed in before the window; a refusal is no sign-in');
  assert.equal(first.get('alice')!.count, 7);
  assert.deepEqual(
    first.get('alice')!.last.map((s) => s.client),
    ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'],
    'the newest five, oldest first',
  );
  // A line written behind the trail's back is not read again: the index is not a read of the files.
  appendFileSync(audit.path, `${JSON.stringify({ at: new Date().toISOString(), event: 'sign-in', user: 'mallory' })}\n`);
  audit.record({ event: 'sign-in', user: 'dave', client: '203.0.113.4' });
  const second = await audit.signIns(since, 5);
  assert.equal(second.has('mallory'), false);
  assert.deepEqual(second.get('dave'), { count: 1, last: [{ at: second.get('dave')!.last[0]!.at, client: '203.0.113.4' }] });
  // An earlier window than the index holds is read from the trail again, and then holds carol.
  const wider = await audit.signIns(new Date(Date.now() - (SIGN_IN_WINDOW_DAYS + 2) * 86_400_000), 5);
  assert.equal(wider.get('carol')?.count, 1);
  assert.equal(wider.has('mallory'), true);
});
