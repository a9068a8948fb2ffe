// The DISPLAY_INIT safeguard's bookkeeping: found at any split of the stream, after other messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DISPLAY_INIT_LINGER_MS, DisplayInitWatch, displayInitMessage } from '../../../proxy/spice/display-init.js';

function message(type: number, body: number): Buffer {
  const m = Buffer.alloc(6 + body);
  m.writeUInt16LE(type, 0);
  m.writeUInt32LE(body, 2);
  return m;
}

test('without DISPLAY_INIT the proxy sends one and lingers; after it, only the rest of the linger', () => {
  let now = 1000;
  const watch = new DisplayInitWatch(() => now);
  assert.deepEqual(watch.farewell(), { send: displayInitMessage(), lingerMs: DISPLAY_INIT_LINGER_MS });
  const stream = Buffer.concat([message(1, 7), message(101, 14), message(3, 0)]); // ack-sync, init, ...
  for (let split = 1; split < stream.length; split++) {
    const w = new DisplayInitWatch(() => now);
    w.observe(stream.subarray(0, split));
    w.observe(stream.subarray(split));
    assert.ok(w.seen, `split at ${split}`);
  }
  watch.observe(stream);
  now += 400;
  assert.deepEqual(watch.farewell(), { lingerMs: DISPLAY_INIT_LINGER_MS - 400 });
  now += DISPLAY_INIT_LINGER_MS;
  assert.equal(watch.farewell(), undefined);
  const other = new DisplayInitWatch();
  const body = message(1, 200);
  body.fill(101, 6); // the bytes of a 101 everywhere in the body
  other.observe(Buffer.concat([body, message(102, 3)]));
  assert.equal(other.seen, false, 'a 101 inside a body is not a header');
});
