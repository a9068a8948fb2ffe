import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProxyError } from '../../../proxy/close.js';
import { ChannelType } from '../../../proxy/spice/link.js';
import { SpiceClientStream } from '../../../proxy/spice/client-messages.js';

function mini(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt16LE(type, 0);
  h.writeUInt32LE(body.length, 2);
  return Buffer.concat([h, body]);
}
function full(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(18);
  h.writeUInt16LE(type, 8);
  h.writeUInt32LE(body.length, 10);
  return Buffer.concat([h, body]);
}

test('view-only main channel: acks and pongs pass, agent and mouse-mode messages are dropped, at any split', () => {
  for (const [header, headerName] of [
    [mini, 'mini'],
    [full, 'full'],
  ] as const) {
    const ack = header(2, Buffer.alloc(0));
    const pong = header(3, Buffer.alloc(12, 1));
    const agentData = header(107, Buffer.alloc(3000, 0x41)); // e.g. clipboard to the guest
    const mouseMode = header(105, Buffer.from([2, 0]));
    const stream = Buffer.concat([ack, agentData, pong, mouseMode, ack]);
    const expected = Buffer.concat([ack, pong, ack]);
    for (const size of [1, 5, 17, 700, stream.length]) {
      const filter = new SpiceClientStream(ChannelType.main, headerName === 'mini');
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) out.push(filter.filter(stream.subarray(at, at + size)));
      assert.deepEqual(Buffer.concat(out), expected, `${headerName} header, chunks of ${size}`);
      assert.equal(filter.dropped, 2);
    }
  }
});

test('view-only: the inputs channel forwards nothing; display, cursor and playback forward everything', () => {
  const key = mini(101, Buffer.from([0x1e, 0, 0, 0])); // SPICE_MSGC_INPUTS_KEY_DOWN
  const inputs = new SpiceClientStream(ChannelType.inputs, true);
  assert.equal(inputs.filter(key).length, 0);
  assert.equal(inputs.dropped, 1);
  for (const type of [ChannelType.usbredir, ChannelType.port, ChannelType.record]) {
    assert.equal(new SpiceClientStream(type, true).filter(Buffer.alloc(10)).length, 0);
  }
  const ack = mini(2, Buffer.alloc(0));
  assert.equal(new SpiceClientStream(ChannelType.display, true).filter(ack), ack);
});

test('an oversized main-channel message closes a view-only channel with a reason', () => {
  const filter = new SpiceClientStream(ChannelType.main, true);
  const h = Buffer.alloc(6);
  h.writeUInt16LE(104, 0);
  h.writeUInt32LE(1 << 30, 2);
  assert.throws(
    () => filter.filter(h),
    (e: unknown) => e instanceof ProxyError && e.code === 4400 && /larger than a view-only connection allows/.test(e.reason),
  );
});

test('fuzz: any main-channel byte stream is forwarded in part, refused with a ProxyError, or dropped; never a crash', () => {
  let cases = 0;
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (miniHeader, chunks) => {
      cases++;
      const filter = new SpiceClientStream(ChannelType.main, miniHeader);
      let received = 0;
      let forwarded = 0;
      try {
        for (const c of chunks) {
          received += c.length;
          forwarded += filter.filter(Buffer.from(c)).length;
        }
      } catch (e) {
        if (!(e instanceof ProxyError)) throw e;
      }
      return forwarded <= received;
    }),
    { numRuns: 20_000 },
  );
  console.log(`# SPICE client stream: ${cases} fuzz cases`);
});
