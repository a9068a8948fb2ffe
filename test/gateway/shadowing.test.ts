import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AuditLog } from '../../gateway/audit-log.js';
import { MOVE_FOLLOW_MS, ShadowRequests } from '../../gateway/shadowing.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-shadow-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('when the watched session ends, its requests end too: the watchers are closed with a reason', async () => {
  const audit = new AuditLog(dir);
  const closed: Array<[string, string]> = [];
  const shadows = new ShadowRequests(audit, (id, reason) => void closed.push([id, reason]));
  const watched = await shadows.ask('hannah', { session: 's1', user: 'alice', desktop: 'lab/a' }, false);
  const waiting = await shadows.ask('harry', { session: 's1', user: 'alice', desktop: 'lab/a' }, true);
  const other = await shadows.ask('hannah', { session: 's2', user: 'bob', desktop: 'lab/b' }, false);
  await shadows.answer(watched, true);
  await shadows.answer(other, true);

  await shadows.sessionEnded('s1');
  assert.equal((await shadows.get(watched.id))!.state, 'ended');
  assert.equal((await shadows.get(waiting.id))!.state, 'ended', 'a request still waiting for its answer ends as well');
  assert.equal((await shadows.get(other.id))!.state, 'accepted', "another session's shadowing goes on");
  assert.deepEqual(
    closed.map(([id]) => id),
    [watched.id, waiting.id],
  );
  assert.match(closed[0]![1], /session you were watching has ended/);
  assert.deepEqual(await shadows.watchers('s1'), []);
  assert.deepEqual(await shadows.forUser('alice'), [], 'the user is no longer asked');

  await shadows.sessionEnded('s1'); // a second notice changes nothing
  assert.equal(closed.length, 2);
  const events = readFileSync(audit.path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; by?: string; request: string });
  assert.deepEqual(
    events.filter((e) => e.event === 'shadow.ended').map((e) => [e.request, e.by]),
    [
      [watched.id, 'session-ended'],
      [waiting.id, 'session-ended'],
    ],
  );
});

test('a request nobody answers lapses after 2 minutes as ended, not as refused', async () => {
  let now = Date.parse('2030-01-07T08:00:00Z');
  const shadows = new ShadowRequests(
    new AuditLog(dir),
    () => {},
    () => now,
  );
  const request = await shadows.ask('hannah', { session: 's3', user: 'carl', desktop: 'lab/c' }, false);
  now += 119_000;
  assert.equal((await shadows.get(request.id))!.state, 'pending');
  now += 2_000;
  assert.equal((await shadows.get(request.id))!.state, 'ended');
  assert.deepEqual(await shadows.forUser('carl'), [], 'the user is no longer asked');
});

test("a watched session whose desktop moved host is followed: the request moves to the user's next session from the same browser", async () => {
  let now = Date.parse('2030-01-07T09:00:00Z');
  const audit = new AuditLog(dir);
  const closed: string[] = [];
  const shadows = new ShadowRequests(
    audit,
    (id) => void closed.push(id),
    () => now,
  );
  const target = { session: 'm1', user: 'dora', desktop: 'lab/d' };
  const watched = await shadows.ask('hannah', target, false);
  await shadows.answer(watched, true);
  const claims = { sub: 'dora', desktop: 'lab/d', bsh: 'browser-1' };

  await shadows.sessionMoved({ id: 'm1', claims });
  assert.equal((await shadows.get(watched.id))!.state, 'accepted', 'the watching goes on while the user reconnects');
  assert.deepEqual(closed, []);
  // Not another browser's session, nor a watcher's own connection, nor another desktop.
  await shadows.sessionOpened({ id: 'other-browser', claims: { ...claims, bsh: 'browser-2' } });
  await shadows.sessionOpened({ id: 'watcher', claims: { ...claims, shadow: watched.id } });
  await shadows.sessionOpened({ id: 'other-desk', claims: { ...claims, desktop: 'lab/e' } });
  assert.equal((await shadows.get(watched.id))!.session, 'm1');
  now += 5_000;
  await shadows.sessionOpened({ id: 'm2', claims });
  const followed = (await shadows.get(watched.id))!;
  assert.deepEqual([followed.state, followed.session, followed.moving], ['accepted', 'm2', undefined]);
  assert.deepEqual(await shadows.watchers('m2'), ['hannah']);
  assert.deepEqual(await shadows.watchers('m1'), []);
  await shadows.sessionEnded('m1'); // a late notice about the old session changes nothing
  assert.equal((await shadows.get(watched.id))!.state, 'accepted');
  const events = readFileSync(audit.path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; request: string; from?: string; to?: string })
    .filter((e) => e.request === watched.id);
  assert.deepEqual(
    events.map((e) => [e.event, e.from, e.to]),
    [
      ['shadow.requested', undefined, undefined],
      ['shadow.accepted', undefined, undefined],
      ['shadow.followed', 'm1', 'm2'],
    ],
  );

  // Moved again, and the user does not come back in time: it ends as the session did.
  await shadows.sessionMoved({ id: 'm2', claims });
  now += MOVE_FOLLOW_MS + 1;
  assert.equal((await shadows.get(watched.id))!.state, 'ended');
  assert.deepEqual(closed, [watched.id], "the watcher's connection is closed");
  await shadows.sessionOpened({ id: 'm3', claims });
  assert.equal((await shadows.get(watched.id))!.state, 'ended', 'an ended request is not revived');
});
