// Property-based fuzzing of every parser the proxy has, 100,000 cases for each parser, none
// shared between two: whatever bytes arrive, a parser answers, refuses with a ProxyError (a
// reason for the user), or asks for more; it never crashes, never takes long over one case, and
// never holds more than its bound (inputs go past the proxy's handshake bound). The generators
// reach past the first byte checks: valid SPICE, TPKT/X.224 and RDCleanPath prefixes with mutated
// bodies, RFB version strings around the accepted ones. For the view-only filters, the property
// that matters: whatever the stream, no key, pointer, clipboard or other input message is ever
// forwarded, checked with a reference parser written here from the specifications (RFC 6143 and
// QEMU's extensions; spice-protocol), independent of the proxy's own framing code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProxyError } from '../../proxy/close.js';
import { Inbox } from '../../proxy/inbox.js';
import { ChannelType, parseLinkHeader, parseLinkMess, parseLinkReply } from '../../proxy/spice/link.js';
import { SpiceClientStream } from '../../proxy/spice/client-messages.js';
import { acceptClient, authenticateToDisplay, parseVersion } from '../../proxy/vnc/rfb-handshake.js';
import { RfbClientStream } from '../../proxy/vnc/client-messages.js';
import { decodeRequest, encodePdu, pduLength, RDCleanPathError } from '../../proxy/rdp/rdcleanpath.js';
import { checkConnectionRequest, confirmLength, parseConnectionConfirm, X224Error } from '../../proxy/rdp/x224.js';
import { DEFAULT_LIMITS } from '../../proxy/display-proxy.js';

const RUNS = 100_000;
/** Longest one case may take: a parser that loops or backtracks on some input fails here, by name. */
const CASE_LIMIT_MS = 2000;
/** The proxy's bound on what either side may send before its handshake completes. */
const BOUND = DEFAULT_LIMITS.handshakeBytes;

/** Runs `parse` on fuzzed input; anything but a refusal with a reason (ProxyError, or the RDP parsers' own errors, which the adapter turns into one) is a failure. */
function refusesCleanly(parse: () => unknown): boolean {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ProxyError || error instanceof RDCleanPathError || error instanceof X224Error)) throw error;
  }
  return true;
}

/** A property run, counted and timed per case; the count and the slowest case are printed. */
function fuzz<T>(name: string, input: fc.Arbitrary<T>, check: (value: T) => void): void {
  let n = 0;
  let slowest = 0;
  const started = Date.now();
  fc.assert(
    fc.property(input, (value) => {
      n++;
      const t0 = performance.now();
      check(value);
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < CASE_LIMIT_MS, `${name}: one case took ${ms.toFixed(0)} ms`);
    }),
    { numRuns: RUNS },
  );
  assert.equal(n, RUNS, `${name}: ${n} cases ran`);
  console.log(`# ${name}: ${n} cases in ${Date.now() - started} ms, slowest ${slowest.toFixed(2)} ms`);
}

async function fuzzAsync<T>(name: string, input: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> {
  let n = 0;
  let slowest = 0;
  const started = Date.now();
  // fast-check's own timeout fails a case that never settles (a hang) instead of waiting for it.
  await fc.assert(
    fc.asyncProperty(input, async (value) => {
      n++;
      const t0 = performance.now();
      await check(value);
      slowest = Math.max(slowest, performance.now() - t0);
    }),
    { numRuns: RUNS, timeout: CASE_LIMIT_MS },
  );
  assert.equal(n, RUNS, `${name}: ${n} cases ran`);
  console.log(`# ${name}: ${n} cases in ${Date.now() - started} ms, slowest ${slowest.toFixed(2)} ms`);
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** `base` with a few bytes changed, cut short or extended: gets past the first checks, then differs. */
function mutate(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(base, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat({ max: 8 }), bytes(8))
    .map(([b, edits, cut, tail]) => {
      const out = Buffer.from(b);
      for (const [at, value] of edits) if (out.length > 0) out[at % out.length] = value;
      return Buffer.concat([out.subarray(0, Math.max(0, out.length - cut)), tail]);
    });
}

// ---- SPICE link ---------------------------------------------------------------------------

const spiceHeader = fc
  .record({ major: fc.constantFrom(1, 2, 2, 3), minor: fc.nat({ max: 3 }), size: fc.oneof(fc.nat({ max: 5000 }), fc.nat()) })
  .map(({ major, minor, size }) => Buffer.concat([Buffer.from('REDQ'), u32le(major), u32le(minor), u32le(size)]));

/** A SpiceLinkMess: connection id, channel type and id, capability counts and offset, capabilities. */
const linkMess = fc
  .record({
    id: fc.nat(),
    type: fc.nat({ max: 12 }),
    common: fc.oneof(fc.nat({ max: 4 }), fc.nat()),
    channel: fc.oneof(fc.nat({ max: 4 }), fc.nat()),
    offset: fc.oneof(fc.constant(18), fc.nat({ max: 64 }), fc.nat()),
    caps: fc.array(fc.nat(), { maxLength: 8 }),
  })
  .map(({ id, type, common, channel, offset, caps }) => {
    const head = Buffer.alloc(18);
    head.writeUInt32LE(id >>> 0, 0);
    head[4] = type;
    head[5] = 0;
    head.writeUInt32LE(common >>> 0, 6);
    head.writeUInt32LE(channel >>> 0, 10);
    head.writeUInt32LE(offset >>> 0, 14);
    return Buffer.concat([head, ...caps.map(u32le)]);
  });

/** A SpiceLinkReply: error, public key, capability counts and offset, capabilities. */
const linkReply = fc
  .record({
    error: fc.nat({ max: 8 }),
    common: fc.oneof(fc.nat({ max: 4 }), fc.nat()),
    channel: fc.oneof(fc.nat({ max: 4 }), fc.nat()),
    offset: fc.oneof(fc.constant(178), fc.nat({ max: 256 }), fc.nat()),
    caps: fc.array(fc.nat(), { maxLength: 8 }),
  })
  .map(({ error, common, channel, offset, caps }) =>
    Buffer.concat([u32le(error), Buffer.alloc(162, 0x30), u32le(common), u32le(channel), u32le(offset), ...caps.map(u32le)]),
  );

test('SPICE link header', () => {
  fuzz('SPICE link header', fc.oneof(bytes(20), spiceHeader, mutate(spiceHeader)), (h) => {
    refusesCleanly(() => {
      const { size } = parseLinkHeader(h, 'x');
      assert.ok(size <= 4096, `a link body of ${size} bytes was accepted`);
    });
  });
});

test('SPICE link message (SpiceLinkMess)', () => {
  fuzz(
    'SPICE link message',
    fc.oneof(
      bytes(120),
      linkMess,
      mutate(linkMess),
      bytes(BOUND + 64).filter((b) => b.length > 0),
    ),
    (body) => {
      refusesCleanly(() => {
        const m = parseLinkMess(body, 'x');
        assert.ok(m.commonCaps.length + m.channelCaps.length <= 128);
      });
    },
  );
});

test('SPICE link reply (SpiceLinkReply)', () => {
  let keys = 0;
  fuzz('SPICE link reply', fc.oneof(bytes(300), linkReply, mutate(linkReply)), (body) => {
    refusesCleanly(() => {
      const r = parseLinkReply(body, 'x');
      assert.equal(r.publicKey.length, r.error === 0 ? 162 : 0);
      if (r.error === 0) keys++;
    });
  });
  assert.ok(keys > 0, 'the generator reached past the checks to a reply with a key');
});

// ---- RFB -----------------------------------------------------------------------------------

/** Version strings around the accepted ones: RFB 003.00x, with digits, spaces and the newline moved. */
const rfbVersion = fc.oneof(
  fc
    .record({
      major: fc.constantFrom('003', '004', '002', '03 ', '0003', '\u0000\u0000\u0000'),
      minor: fc.constantFrom('003', '007', '008', '005', '889', '009', '000', '999', '08 ', '-01', '+08', '0x8'),
      prefix: fc.constantFrom('RFB ', 'RFB', 'rfb ', 'RFB\t', 'RFB  '),
      end: fc.constantFrom('\n', '\r\n', '', ' ', '\n\n'),
    })
    .map(({ major, minor, prefix, end }) => Buffer.from(`${prefix}${major}.${minor}${end}`, 'latin1').subarray(0, 12)),
  mutate(fc.constantFrom(Buffer.from('RFB 003.008\n'), Buffer.from('RFB 003.007\n'), Buffer.from('RFB 003.003\n'))).map((b) =>
    Buffer.concat([b, Buffer.alloc(12)]).subarray(0, 12),
  ),
  fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b)),
);

test('RFB versions', () => {
  const accepted = new Set<string>();
  fuzz('RFB version', rfbVersion, (v) => {
    refusesCleanly(() => {
      const minor = parseVersion(v, 'x');
      assert.ok([3, 7, 8].includes(minor));
      accepted.add(v.toString('latin1'));
    });
  });
  for (const [version, minor] of [
    ['RFB 003.008\n', 8],
    ['RFB 003.007\n', 7],
    ['RFB 003.003\n', 3],
    ['RFB 003.889\n', 8],
  ] as const) {
    assert.equal(parseVersion(Buffer.from(version), 'x'), minor, version);
  }
  assert.ok(accepted.size > 3, `the generator reached past the version check (${accepted.size} accepted strings)`);
});

/** What a handshake peer sends: a version (valid or near), then hostile bytes, sometimes past the bound, in chunks. */
const handshakeInput = fc.record({
  version: fc.oneof(fc.constant(Buffer.from('RFB 003.008\n')), fc.constant(Buffer.from('RFB 003.003\n')), rfbVersion),
  // Security types / results / challenges: small numbers, long reasons, or anything.
  body: fc.oneof(
    { weight: 3, arbitrary: bytes(64) },
    fc.array(fc.constantFrom(0, 1, 2, 16, 19, 255), { maxLength: 24 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(0, 1), fc.nat({ max: BOUND * 2 })).map(([t, n]) => Buffer.concat([Buffer.from([t]), u32beLen(n)])), // a reason of n bytes
    { weight: 1, arbitrary: fc.integer({ min: BOUND - 16, max: BOUND + 4096 }).map((n) => Buffer.alloc(n, 0x13)) }, // past the bound
  ),
  splits: fc.array(fc.nat(), { maxLength: 4 }),
});

function u32beLen(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

async function handshake(
  toDisplay: boolean,
  { version, body, splits }: { version: Buffer; body: Buffer; splits: number[] },
): Promise<void> {
  const inbox = new Inbox('peer', BOUND);
  const peer = { inbox, send: () => {} };
  // With a TLS hook, so that VeNCrypt (security type 19) is fuzzed too; TLS itself is Node's.
  const run = toDisplay ? authenticateToDisplay(peer, 'password', async (d) => d) : acceptClient(peer);
  const all = Buffer.concat([version, body]);
  let at = 0;
  for (const s of splits) {
    const end = Math.min(all.length, at + (s % 2048));
    inbox.push(all.subarray(at, end));
    assert.ok(inbox.length <= BOUND, `the inbox holds ${inbox.length} bytes, over its bound ${BOUND}`);
    at = end;
  }
  inbox.push(all.subarray(at));
  assert.ok(inbox.length <= BOUND, `the inbox holds ${inbox.length} bytes, over its bound ${BOUND}`);
  inbox.fail(new ProxyError(4010, 'closed', 'peer closed'));
  await run.catch((e: unknown) => {
    if (!(e instanceof ProxyError)) throw e;
  });
}

test('the RFB security handshake with a display (the proxy as client)', async () => {
  await fuzzAsync('RFB handshake with a display', handshakeInput, (input) => handshake(true, input));
});

test('the RFB security handshake with a browser (the proxy as server)', async () => {
  await fuzzAsync('RFB handshake with a browser', handshakeInput, (input) => handshake(false, input));
});

test('the handshake inbox: never holds more than its bound, however the bytes come', () => {
  fuzz(
    'handshake inbox',
    fc.record({
      pushes: fc.array(
        fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 4096 }) }, { weight: 1, arbitrary: fc.integer({ min: BOUND - 8, max: BOUND + 8 }) }),
        { maxLength: 6 },
      ),
      reads: fc.array(fc.nat({ max: BOUND + 8 }), { maxLength: 4 }),
    }),
    ({ pushes, reads }) => {
      const inbox = new Inbox('peer', BOUND);
      let pushed = 0;
      for (const n of pushes) {
        inbox.push(Buffer.alloc(n));
        pushed += n;
        assert.ok(inbox.length <= BOUND, `${inbox.length} bytes held after ${pushed} pushed`);
      }
      for (const n of reads) {
        if (n > BOUND)
          void inbox.read(n, 1).then(
            () => assert.fail(`a read of ${n} bytes, over the bound, was served`),
            () => {},
          );
        else if (n <= inbox.length) void inbox.read(n, 1).then((b) => assert.equal(b.length, n));
      }
    },
  );
});

// ---- View-only filters: nothing that acts on the guest is ever forwarded --------------------

/**
 * The reference framing of RFB client messages (RFC 6143 §7.5, QEMU's 255 messages, the
 * extensions noVNC sends), written here on its own: the length of the message at the start of
 * `b`, `undefined` when its header is incomplete, 'unknown' for a type the view-only filter does
 * not know (or announces more than it allows: more than 1024 encodings, a fence payload over 64).
 */
function rfbLength(b: Buffer): number | undefined | 'unknown' {
  const need = (n: number) => b.length < n;
  switch (b[0]) {
    case 0:
      return 20; // SetPixelFormat
    case 2:
      if (need(4)) return undefined;
      return b.readUInt16BE(2) > 1024 ? 'unknown' : 4 + 4 * b.readUInt16BE(2); // SetEncodings
    case 3:
      return 10; // FramebufferUpdateRequest
    case 4:
      return 8; // KeyEvent
    case 5:
      return 6; // PointerEvent
    case 6:
      if (need(8)) return undefined;
      return 8 + Math.abs(b.readInt32BE(4)); // ClientCutText (negative: extended)
    case 150:
      return 10; // EnableContinuousUpdates
    case 248:
      if (need(9)) return undefined;
      return b[8]! > 64 ? 'unknown' : 9 + b[8]!; // ClientFence
    case 250:
      return 4; // xvp
    case 251:
      if (need(7)) return undefined;
      return 8 + 16 * b[6]!; // SetDesktopSize
    case 255: {
      if (need(2)) return undefined;
      if (b[1] === 0) return 12; // QEMU extended key event
      if (b[1] !== 1) return 'unknown';
      if (need(4)) return undefined;
      const op = b.readUInt16BE(2);
      return op === 0 || op === 1 ? 4 : op === 2 ? 10 : 'unknown'; // QEMU audio
    }
    default:
      return 'unknown';
  }
}

/** Messages that change nothing on the desktop: all a view-only connection may forward. */
const RFB_PASSIVE = new Set([0, 2, 3, 150, 248]);

/** Splits a stream into whole messages with the reference framing; `rest` is an incomplete tail, `unknown` where framing stopped. */
function rfbMessages(stream: Buffer): { messages: Buffer[]; rest: Buffer; unknown: boolean } {
  const messages: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const length = rfbLength(stream.subarray(at));
    if (length === 'unknown') return { messages, rest: stream.subarray(at), unknown: true };
    if (length === undefined || at + length > stream.length) break;
    messages.push(stream.subarray(at, at + length));
    at += length;
  }
  return { messages, rest: stream.subarray(at), unknown: false };
}

/** Whole RFB client messages of every kind, passive and input, with hostile lengths now and then. */
const rfbMessage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(0, 3, 4, 5, 150, 250).chain((type) => {
    const length = { 0: 20, 3: 10, 4: 8, 5: 6, 150: 10, 250: 4 }[type]!;
    return fc.uint8Array({ minLength: length - 1, maxLength: length - 1 }).map((b) => Buffer.concat([Buffer.from([type]), Buffer.from(b)]));
  }),
  fc.nat({ max: 40 }).map((n) => {
    const b = Buffer.alloc(4 + 4 * n, 7);
    b[0] = 2;
    b.writeUInt16BE(n, 2);
    return b;
  }),
  fc.tuple(fc.integer({ min: -40, max: 300 }), fc.boolean()).map(([n, big]) => {
    const length = big ? n * 1000 : n; // clipboard: skipped as it streams, however long
    const b = Buffer.alloc(8 + Math.min(Math.abs(length), 70_000), 0x41);
    b[0] = 6;
    b.writeInt32BE(length, 4);
    return b;
  }),
  fc.nat({ max: 64 }).map((n) => {
    const b = Buffer.alloc(9 + n, 1);
    b[0] = 248;
    b[8] = n;
    return b;
  }),
  fc.nat({ max: 4 }).map((n) => {
    const b = Buffer.alloc(8 + 16 * n, 2);
    b[0] = 251;
    b[6] = n;
    return b;
  }),
  fc.constant(Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x1e, 0, 0, 0, 0x1e])),
  fc.constantFrom(0, 1, 2).map((op) => {
    const b = Buffer.alloc(op === 2 ? 10 : 4);
    b[0] = 255;
    b[1] = 1;
    b.writeUInt16BE(op, 2);
    return b;
  }),
);

/** A browser's stream: the ClientInit byte, then messages and now and then raw garbage, cut into arbitrary chunks. */
const rfbStream = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.array(fc.oneof({ weight: 12, arbitrary: rfbMessage }, { weight: 1, arbitrary: bytes(12) }), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 8 }),
  )
  .map(([init, parts, cuts]) => ({ stream: Buffer.concat([Buffer.from([init]), ...parts]), cuts }));

/** Cuts `stream` at the given points (taken modulo its length), in order. */
function chunks(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(stream.subarray(at, p));
    at = p;
  }
  out.push(stream.subarray(at));
  return out;
}

test('VNC view-only: whatever the stream, no input message is ever forwarded, and passive ones pass unchanged and in order', () => {
  let refused = 0;
  let inputsSent = 0;
  fuzz('VNC view-only filter', rfbStream, ({ stream, cuts }) => {
    const filter = new RfbClientStream(true);
    const forwarded: Buffer[] = [];
    let error: unknown;
    for (const c of chunks(stream, cuts)) {
      try {
        forwarded.push(filter.filter(c));
      } catch (e) {
        if (!(e instanceof ProxyError)) throw e;
        error = e; // the connection closes here: nothing after it is forwarded
        refused++;
        break;
      }
    }
    const out = Buffer.concat(forwarded);
    const expected = rfbMessages(stream.subarray(1));
    inputsSent += expected.messages.filter((m) => !RFB_PASSIVE.has(m[0]!)).length;
    if (out.length === 0) return;
    assert.equal(out[0], 1, 'ClientInit is forwarded as "shared"');
    // The property that matters, checked on what reached the display with the reference framing:
    // only whole passive messages.
    const seen = rfbMessages(out.subarray(1));
    assert.equal(seen.unknown, false, `the display got bytes that are no RFB message: ${seen.rest.subarray(0, 16).toString('hex')}`);
    assert.equal(seen.rest.length, 0, `the display got an incomplete message: ${seen.rest.subarray(0, 16).toString('hex')}`);
    for (const m of seen.messages)
      assert.ok(RFB_PASSIVE.has(m[0]!), `a view-only connection forwarded message type ${m[0]}: ${m.subarray(0, 16).toString('hex')}`);
    // And exactly the passive messages the browser sent, in order, unchanged (a prefix of them when the filter refused the stream).
    const passive = expected.messages.filter((m) => RFB_PASSIVE.has(m[0]!));
    assert.ok(seen.messages.length <= passive.length, 'more messages forwarded than the browser sent');
    seen.messages.forEach((m, i) => assert.deepEqual(m, passive[i], `forwarded message ${i} differs from the browser's`));
    if (error === undefined && !expected.unknown) assert.equal(seen.messages.length, passive.length, 'a passive message was lost');
  });
  console.log(`# VNC view-only filter: ${inputsSent} input messages sent in all, none forwarded; ${refused} streams refused`);
  assert.ok(inputsSent > RUNS, 'the generator sends input messages');
});

/** spice-protocol's main channel messages from the client that act on the guest. */
const SPICE_MAIN_INPUT = new Set([105, 106, 107, 108]);

/** Reference framing of SPICE data messages: mini header (type u16, size u32) or full (serial u64, type u16, size u32, sub_list u32). */
function spiceMessages(stream: Buffer, mini: boolean): { messages: Array<{ type: number; bytes: Buffer }>; rest: Buffer } {
  const header = mini ? 6 : 18;
  const messages: Array<{ type: number; bytes: Buffer }> = [];
  let at = 0;
  while (stream.length - at >= header) {
    const type = stream.readUInt16LE(at + (mini ? 0 : 8));
    const length = header + stream.readUInt32LE(at + (mini ? 2 : 10));
    if (at + length > stream.length) break;
    messages.push({ type, bytes: stream.subarray(at, at + length) });
    at += length;
  }
  return { messages, rest: stream.subarray(at) };
}

const spiceMessage = (mini: boolean) =>
  fc
    .tuple(
      fc.oneof(fc.constantFrom(101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111), fc.nat({ max: 0xffff })),
      fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }) }),
    )
    .map(([type, size]) => {
      const h = Buffer.alloc(mini ? 6 : 18);
      if (mini) {
        h.writeUInt16LE(type, 0);
        h.writeUInt32LE(size, 2);
      } else {
        h.writeUInt16LE(type, 8);
        h.writeUInt32LE(size, 10);
      }
      return Buffer.concat([h, Buffer.alloc(size, 0x42)]);
    });

const spiceStream = fc.tuple(fc.constantFrom(...Object.values(ChannelType), 0, 12, 200), fc.boolean()).chain(([channel, mini]) =>
  fc.record({
    channel: fc.constant(channel),
    mini: fc.constant(mini),
    stream: fc
      .array(fc.oneof({ weight: 10, arbitrary: spiceMessage(mini) }, { weight: 1, arbitrary: bytes(20) }), { maxLength: 8 })
      .map((p) => Buffer.concat(p)),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  }),
);

test('SPICE view-only: the inputs channel and every channel into the guest forward nothing; main never forwards agent or mouse-mode messages', () => {
  let dropped = 0;
  fuzz('SPICE view-only filter', spiceStream, ({ channel, mini, stream, cuts }) => {
    const filter = new SpiceClientStream(channel, mini);
    const forwarded: Buffer[] = [];
    let refused = false;
    for (const c of chunks(stream, cuts)) {
      try {
        forwarded.push(filter.filter(c));
      } catch (e) {
        if (!(e instanceof ProxyError)) throw e;
        refused = true;
        break;
      }
    }
    const out = Buffer.concat(forwarded);
    if ([ChannelType.display, ChannelType.cursor, ChannelType.playback].includes(channel as 2 | 4 | 5)) {
      // They only acknowledge what they receive: forwarded as is.
      assert.deepEqual(out, stream);
      return;
    }
    if (channel !== ChannelType.main) {
      assert.equal(out.length, 0, `channel type ${channel} forwarded ${out.length} bytes in a view-only session`);
      dropped += stream.length > 0 ? 1 : 0;
      return;
    }
    const seen = spiceMessages(out, mini);
    assert.equal(seen.rest.length, 0, 'the display got an incomplete message');
    for (const m of seen.messages) assert.ok(!SPICE_MAIN_INPUT.has(m.type), `the main channel forwarded message type ${m.type}`);
    const passive = spiceMessages(stream, mini).messages.filter((m) => !SPICE_MAIN_INPUT.has(m.type) && m.bytes.length <= 64 * 1024);
    seen.messages.forEach((m, i) => assert.deepEqual(m.bytes, passive[i]?.bytes, `forwarded message ${i} differs from the browser's`));
    if (!refused) assert.equal(seen.messages.length, passive.length, 'a message that changes nothing was lost');
  });
  assert.ok(dropped > 0);
});

// ---- RDP: RDCleanPath requests, X.224 requests and confirms ---------------------------------

const X224_REQUEST = Buffer.from('0300002b26e00000000000436f6f6b69653a206d737473686173683d706f7274686f6c650d0a0100080003000000', 'hex');

test('RDCleanPath requests (DER)', () => {
  const valid = encodePdu({ destination: '192.0.2.10:3389', proxyAuth: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', x224: X224_REQUEST });
  const structured = fc
    .record({
      destination: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      proxyAuth: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      preconnectionBlob: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
      x224: fc.option(bytes(60), { nil: undefined }),
      serverAddr: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    })
    .map((fields) => encodePdu(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))));
  // Garbage, the valid PDU with bytes changed, cut or appended, well-formed PDUs with hostile fields, and a PDU past the bound.
  const input = fc.oneof(
    bytes(120),
    mutate(fc.constant(valid)),
    structured,
    mutate(structured),
    fc.nat({ max: 8 }).map((n) => encodePdu({ destination: 'x'.repeat(BOUND + n), proxyAuth: 't', x224: X224_REQUEST })),
  );
  fuzz('RDCleanPath', input, (der) => {
    refusesCleanly(() => {
      const length = pduLength(der.subarray(0, 5));
      if (length !== undefined) assert.ok(length >= 2 && length < 2 ** 24);
    });
    // decodeRequest decodes the whole PDU (decodePdu) first, then checks it is a request.
    refusesCleanly(() => checkConnectionRequest(decodeRequest(der).x224));
  });
});

/** A TPKT frame carrying an X.224 TPDU of `code` (CR 0xe0, CC 0xd0) with the given body; lengths consistent. */
const tpkt = (code: number, body: Buffer) => {
  const li = 6 + body.length;
  const b = Buffer.concat([Buffer.from([3, 0, 0, 0, li, code, 0, 0, 0, 0, 0]), body]);
  b.writeUInt16BE(b.length, 2);
  return b;
};
const negotiation = fc
  .tuple(fc.constantFrom(1, 2, 3, 4), fc.nat({ max: 255 }), fc.constantFrom(0, 1, 2, 3, 8, 0xffffffff))
  .map(([type, flags, value]) => {
    const b = Buffer.alloc(8);
    b[0] = type;
    b[1] = flags;
    b.writeUInt16LE(8, 2);
    b.writeUInt32LE(value >>> 0, 4);
    return b;
  });
const x224Frames = fc.oneof(
  bytes(40),
  fc.tuple(fc.constantFrom(0xe0, 0xd0, 0xf0, 0x80), fc.oneof(negotiation, bytes(40))).map(([code, body]) => tpkt(code, body)),
  mutate(fc.tuple(fc.constantFrom(0xe0, 0xd0), negotiation).map(([code, body]) => tpkt(code, body))),
  mutate(fc.constant(X224_REQUEST)),
  fc.nat({ max: 8 }).map((n) => tpkt(0xd0, Buffer.alloc(1024 + n))),
);

test("X.224 connection requests (the browser's)", () => {
  let accepted = 0;
  fuzz('X.224 connection request', x224Frames, (frame) => {
    refusesCleanly(() => {
      checkConnectionRequest(frame);
      accepted++;
      assert.equal(frame.readUInt16BE(2), frame.length);
      assert.equal(frame[5]! & 0xf0, 0xe0);
    });
  });
  assert.ok(accepted > 0, 'the generator reached past the checks');
});

test("X.224 connection confirms (the server's), and their TPKT length", () => {
  let accepted = 0;
  fuzz('X.224 connection confirm', x224Frames, (frame) => {
    refusesCleanly(() => {
      const length = confirmLength(frame.subarray(0, 4));
      assert.ok(length >= 11 && length <= 1024);
    });
    refusesCleanly(() => {
      const confirm = parseConnectionConfirm(frame);
      accepted++;
      assert.ok(confirm.kind === 'accepted' || confirm.kind === 'refused');
    });
  });
  assert.ok(accepted > 0, 'the generator reached past the checks');
});
