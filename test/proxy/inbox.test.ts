import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyError } from '../../proxy/close.js';
import { Inbox } from '../../proxy/inbox.js';

test('reads exactly n bytes across chunks and leaves the rest for the relay', async () => {
  const inbox = new Inbox('peer', 100);
  const pending = inbox.read(5, 1000);
  inbox.push(Buffer.from('ab'));
  inbox.push(Buffer.from('cdefg'));
  assert.equal((await pending).toString(), 'abcde');
  assert.deepEqual(Buffer.concat(inbox.drain()).toString(), 'fg');
  assert.equal(inbox.length, 0);
});

test('more than the limit, a silent peer and a closed peer each fail with a reason', async () => {
  const big = new Inbox('The browser', 8);
  const read = big.read(4, 1000);
  big.push(Buffer.alloc(3));
  big.push(Buffer.alloc(9));
  // 12 bytes held: over the limit, so the pending read fails rather than being served.
  await assert.rejects(read, (e: unknown) => e instanceof ProxyError && /more than the handshake allows/.test(e.reason));
  await assert.rejects(new Inbox('x', 8).read(9, 1000), (e: unknown) => e instanceof ProxyError && /larger than allowed/.test(e.reason));

  const silent = new Inbox('The display', 100);
  await assert.rejects(silent.read(4, 20), (e: unknown) => e instanceof ProxyError && /stopped answering/.test(e.reason));

  const closed = new Inbox('The display', 100);
  const waiting = closed.read(4, 1000);
  closed.fail(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  await assert.rejects(closed.read(1, 1000), /gone/);
});

test('a peer with flow control is paused at the limit, not failed: nothing it sent is lost, and it resumes as the bytes are read', async () => {
  const calls: string[] = [];
  const inbox = new Inbox('The display', 8, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
  inbox.push(Buffer.from('first'));
  assert.deepEqual(calls, []);
  inbox.push(Buffer.from('-second-'));
  inbox.push(Buffer.from('+third')); // read before the pause took effect: kept as well
  assert.deepEqual(calls, ['pause']);
  assert.equal(inbox.length, 19);
  assert.equal((await inbox.read(5, 1000)).toString(), 'first');
  assert.deepEqual(calls, ['pause'], 'still at the limit: stays paused');
  assert.equal((await inbox.read(8, 1000)).toString(), '-second-');
  assert.deepEqual(calls, ['pause', 'resume']);
  inbox.push(Buffer.from('0123456789'));
  assert.deepEqual(calls, ['pause', 'resume', 'pause']);
  // The relay takes what is left, in order, and the peer flows again.
  assert.equal(Buffer.concat(inbox.drain()).toString(), '+third0123456789');
  assert.deepEqual(calls, ['pause', 'resume', 'pause', 'resume']);
  await assert.rejects(inbox.read(9, 1000), (e: unknown) => e instanceof ProxyError && /larger than allowed/.test(e.reason));
});
