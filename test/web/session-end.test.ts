// What the viewer does when a working connection ends (pure logic; the real ends are tested in
// Chromium by test/e2e/reconnect.test.ts). The browser module is bundled by esbuild, as
// web/build.ts does, and imported here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { CloseCode } from '../../contract/close-codes.js';

type Ending = { reconnect: true } | { reconnect: false; title: string; text: string; openAgain: boolean; goTo?: string };
interface SessionEndModule {
  describeEnd(end: { code?: number; reason: string }): Ending;
  reconnectingTitle(end: { code?: number; reason: string }, attempt: number): string;
  Backoff: { new (random?: () => number): { attempt: number; next(): number | undefined }; MAX_ATTEMPTS: number };
}

const SOURCE = fileURLToPath(new URL('../../../web/src/session-end.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porthole-session-end-'));
let m: SessionEndModule;

before(async () => {
  const out = join(dir, 'session-end.mjs');
  await build({ entryPoints: [SOURCE], outfile: out, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'error' });
  m = (await import(pathToFileURL(out).href)) as SessionEndModule;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('ends that a reconnect may mend are reconnected: the line, a restart, a drain, the display going away', () => {
  for (const code of [undefined, 1000, 1001, 1006, 1011, CloseCode.restarting, CloseCode.displayUnreachable, CloseCode.unavailable])
    assert.deepEqual(m.describeEnd({ ...(code === undefined ? {} : { code }), reason: 'x' }), { reconnect: true }, `code ${code}`);
});

test('ends that were meant stop, say what happened in the proxy’s words, and offer to open again where that makes sense', () => {
  const takenOver = m.describeEnd({
    code: CloseCode.takenOver,
    reason: 'This desktop was opened in another tab or window, so it closed here.',
  });
  assert.equal(takenOver.reconnect, false);
  assert.ok(!takenOver.reconnect);
  assert.equal(takenOver.title, 'Opened somewhere else');
  assert.match(takenOver.text, /another tab/);
  assert.equal(takenOver.openAgain, true);

  const signedOut = m.describeEnd({ code: CloseCode.signedOut, reason: 'You signed out.' });
  assert.ok(!signedOut.reconnect);
  assert.equal(signedOut.openAgain, false);
  assert.equal(signedOut.goTo, '/');

  for (const code of [CloseCode.endedByAdmin, CloseCode.idle, CloseCode.maxDuration, CloseCode.shadowEnded, CloseCode.forbidden]) {
    const ending = m.describeEnd({ code, reason: 'why' });
    assert.equal(ending.reconnect, false, `code ${code}`);
  }
  const forbidden = m.describeEnd({ code: CloseCode.forbidden, reason: 'raw' });
  assert.ok(!forbidden.reconnect);
  assert.match(forbidden.text, /no longer open this desktop/, 'its own sentence says what to do');
});

test('reconnection backs off from half a second to fifteen, with jitter, and gives up after its last attempt', () => {
  const middle = new m.Backoff(() => 0.5);
  const delays: number[] = [];
  for (let d = middle.next(); d !== undefined; d = middle.next()) delays.push(d);
  assert.equal(delays.length, m.Backoff.MAX_ATTEMPTS);
  assert.deepEqual(delays.slice(0, 6), [500, 1000, 2000, 4000, 8000, 15000]);
  assert.ok(delays.slice(6).every((d) => d === 15000));
  const total = delays.reduce((a, b) => a + b, 0);
  assert.ok(total > 120_000 && total < 240_000, `about three minutes of trying, not ${total} ms`);
  const low = new m.Backoff(() => 0);
  const high = new m.Backoff(() => 0.999);
  assert.equal(low.next(), 400);
  assert.equal(high.next(), 600);
});

test('a desktop that moved host is a short notice while the viewer reconnects, not a count of attempts', () => {
  const moved = { code: CloseCode.moved, reason: 'The desktop is moving to another host.' };
  assert.deepEqual(m.describeEnd(moved), { reconnect: true });
  assert.equal(m.reconnectingTitle(moved, 1), 'Moving to another host…');
  assert.equal(m.reconnectingTitle(moved, 3), 'Moving to another host… (attempt 3)');
  assert.equal(m.reconnectingTitle({ code: 1006, reason: 'x' }, 1), 'Reconnecting… (attempt 1)');
});
