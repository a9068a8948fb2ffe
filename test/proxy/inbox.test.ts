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
