import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProxyError } from '../../../proxy/close.js';
import { RfbClientStream } from '../../../proxy/vnc/client-messages.js';

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

// Messages a viewer may send while watching, and their bytes.
const allowed = [
  Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.alloc(16, 7)]), // SetPixelFormat
  Buffer.concat([Buffer.from([2, 0]), u16(3), u32(0), u32(7), u32(-223 >>> 0)]), // SetEncodings
  Buffer.from([3, 1, 0, 0, 0, 0, 4, 0, 3, 0]), // FramebufferUpdateRequest
  Buffer.from([150, 1, 0, 0, 0, 0, 4, 0, 3, 0]), // EnableContinuousUpdates
  Buffer.concat([Buffer.from([248, 0, 0, 0]), u32(1), Buffer.from([2, 0xaa, 0xbb])]), // ClientFence
];
// Messages that change the desktop, with the counter each bumps.
const forbidden: Array<[Buffer, string]> = [
  [Buffer.concat([Buffer.from([4, 1, 0, 0]), u32(0x61)]), 'key'],
  [Buffer.from([5, 1, 0, 10, 0, 20]), 'pointer'],
  [Buffer.concat([Buffer.from([6, 0, 0, 0]), u32(5), Buffer.from('hello')]), 'clipboard'],
  [Buffer.concat([Buffer.from([6, 0, 0, 0]), i32(-8), Buffer.alloc(8, 1)]), 'clipboard'], // extended clipboard
  [Buffer.concat([Buffer.from([255, 0]), u16(1), u32(0x61), u32(30)]), 'qemuKey'],
  [Buffer.concat([Buffer.from([255, 1]), u16(0)]), 'audio'],
  [Buffer.concat([Buffer.from([255, 1]), u16(2), Buffer.from([3, 2]), u32(44100)]), 'audio'],
  [Buffer.from([250, 0, 1, 2]), 'power'], // xvp reboot
  [Buffer.concat([Buffer.from([251, 0]), u16(800), u16(600), Buffer.from([1, 0]), Buffer.alloc(16)]), 'resize'],
];

test('full control forwards everything, with ClientInit forced to shared', () => {
  const stream = new RfbClientStream(false);
  assert.deepEqual(stream.filter(Buffer.from([0, ...forbidden[0]![0]])), Buffer.from([1, ...forbidden[0]![0]]));
  const later = forbidden[1]![0];
  assert.equal(stream.filter(later), later, 'no copy on the full-control path');
});

test('view-only forwards only harmless messages, at any split of the stream, and counts the rest', () => {
  const sequence = [
    allowed[0]!,
    forbidden[0]![0],
    allowed[1]!,
    ...forbidden.slice(1).map(([b]) => b),
    ...allowed.slice(2),
    forbidden[0]![0],
    allowed[2]!,
  ];
  const stream = Buffer.concat([Buffer.from([0]), ...sequence]);
  const expected = Buffer.concat([Buffer.from([1]), allowed[0]!, allowed[1]!, ...allowed.slice(2), allowed[2]!]);
  for (let split = 1; split < stream.length; split++) {
    for (const size of [1, 3, split]) {
      const filter = new RfbClientStream(true);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) out.push(filter.filter(stream.subarray(at, Math.min(at + size, stream.length))));
      assert.deepEqual(Buffer.concat(out), expected, `chunks of ${size}`);
      assert.deepEqual(filter.dropped, { key: 2, pointer: 1, clipboard: 2, qemuKey: 1, audio: 2, power: 1, resize: 1 });
    }
  }
});

test('a huge clipboard message is skipped while streaming, not buffered', () => {
  const filter = new RfbClientStream(true);
  filter.filter(Buffer.from([1]));
  assert.equal(filter.filter(Buffer.concat([Buffer.from([6, 0, 0, 0]), u32(1e9)])).length, 0);
  for (let i = 0; i < 100; i++) assert.equal(filter.filter(Buffer.alloc(65536, 0x41)).length, 0);
  assert.equal(filter.dropped.clipboard, 1);
});

test('unknown or malformed messages close a view-only connection with a reason', () => {
  for (const bad of [
    Buffer.from([7]),
    Buffer.from([255, 9]),
    Buffer.concat([Buffer.from([255, 1]), u16(9)]),
    Buffer.concat([Buffer.from([2, 0]), u16(60000)]),
  ]) {
    const filter = new RfbClientStream(true);
    filter.filter(Buffer.from([1]));
    assert.throws(
      () => filter.filter(bad),
      (e: unknown) => e instanceof ProxyError && e.code === 4400 && /view-only connection does not allow/.test(e.reason),
    );
  }
});

test('fuzz: any byte stream is framed, refused with a ProxyError, or forwarded; never a crash or unbounded buffer', () => {
  let cases = 0;
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
      cases++;
      const filter = new RfbClientStream(true);
      let forwarded = 0;
      let received = 0;
      try {
        for (const c of chunks) {
          received += c.length;
          forwarded += filter.filter(Buffer.from(c)).length;
        }
      } catch (e) {
        if (!(e instanceof ProxyError)) throw e;
      }
      return forwarded <= received + 1;
    }),
    { numRuns: 20_000 },
  );
  console.log(`# RFB client stream: ${cases} fuzz cases`);
});
