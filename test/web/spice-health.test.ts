// The SPICE health watch on a stand-in for spice-html5's connection: a display channel whose
// drawings arrive but are never drawn is reported as a stalled picture, and a decoder that keeps
// throwing as a failed decoder; each once, with a reason a person can read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchSpiceHealth } from '../../web/src/connectors/spice-health.js';

const DRAW_COPY = 304;

/** A display channel like spice-html5's, whose drawing either counts or throws. */
function fakeConnection(draw: (surface: { draw_count: number }) => void) {
  const surface = { draw_count: 0 };
  const display = {
    surfaces: [surface],
    process_channel_message(msg: { type: number }) {
      return this.process_display_message(msg);
    },
    process_display_message(msg: { type: number }) {
      if (msg.type === DRAW_COPY) draw(surface);
      return true;
    },
  };
  return { connection: { display }, display, surface };
}

function brokenReason(connection: object): { reason: Promise<string>; stop: () => void } {
  let stop = () => {};
  const reason = new Promise<string>((resolve) => {
    stop = watchSpiceHealth(connection, resolve);
  });
  return { reason, stop };
}

test('drawings that arrive and are never drawn are a stalled picture', async () => {
  const { connection, display } = fakeConnection(() => {}); // draws nothing, as with the JPEG bug
  const watch = brokenReason(connection);
  const feeding = setInterval(() => display.process_channel_message({ type: DRAW_COPY }), 50);
  try {
    const reason = await watch.reason;
    assert.match(reason, /^the picture stopped updating \(\d+ updates from the desktop could not be shown\)$/);
    assert.ok(Number(/\((\d+)/.exec(reason)![1]) >= 10);
  } finally {
    clearInterval(feeding);
    watch.stop();
  }
});

test('a decoder that keeps throwing is reported with its error, and its errors still propagate', async () => {
  const { connection, display } = fakeConnection(() => {
    throw new TypeError("Cannot read properties of undefined (reading 'undefined')");
  });
  const watch = brokenReason(connection);
  for (let i = 0; i < 3; i++) assert.throws(() => display.process_channel_message({ type: DRAW_COPY }), TypeError);
  assert.equal(await watch.reason, "its picture decoder failed (Cannot read properties of undefined (reading 'undefined'))");
  watch.stop();
});
