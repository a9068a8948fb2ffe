// Property-based fuzzing of every parser the proxy has, 100,000 cases each per run: whatever
// bytes arrive, a parser answers, refuses with a ProxyError (a reason for the user), or asks for
// more; it never crashes, never hangs, and never holds more than its bound.
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

const RUNS = 100_000;

/** Runs `parse` on fuzzed input; anything but a refusal with a reason (ProxyError, or the RDP parsers' own errors, which the adapter turns into one) is a failure. */
function refusesCleanly(parse: () => unknown): boolean {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ProxyError || error instanceof RDCleanPathError || error instanceof X224Error)) throw error;
  }
  return true;
}

function report(name: string, runs: number): void {
  console.log(`# ${name}: ${runs} cases`);
}

test('SPICE link messages and replies (header, body, capabilities)', () => {
  let n = 0;
  // Mostly-valid headers with hostile sizes, and raw garbage.
  const header = fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b)),
    fc.record({ major: fc.constantFrom(1, 2, 3), size: fc.nat() }).map(({ major, size }) => {
      const b = Buffer.alloc(16); b.write('REDQ'); b.writeUInt32LE(major, 4); b.writeUInt32LE(2, 8); b.writeUInt32LE(size >>> 0, 12); return b;
    }),
  );
  fc.assert(fc.property(header, fc.uint8Array({ maxLength: 400 }), (h, body) => {
    n++;
    return refusesCleanly(() => parseLinkHeader(h, 'x')) && refusesCleanly(() => parseLinkMess(Buffer.from(body), 'x'))
      && refusesCleanly(() => parseLinkReply(Buffer.from(body), 'x'));
  }), { numRuns: RUNS });
  report('SPICE link', n);
});

test('RFB versions, and both halves of the RFB security handshake against hostile peers', async () => {
  let n = 0;
  fc.assert(fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (v) => { n++; return refusesCleanly(() => parseVersion(Buffer.from(v), 'x')); }), { numRuns: RUNS });
  report('RFB version', n);
  // The handshakes read through a bounded inbox: feed hostile bytes and require a clean end.
  let m = 0;
  await fc.assert(fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 64 }), async (toDisplay, bytes) => {
    m++;
    const inbox = new Inbox('peer', 4096);
    const peer = { inbox, send: () => {} };
    // A valid version first (either peer starts with one), then anything.
    inbox.push(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from(bytes)]));
    inbox.fail(new ProxyError(4010, 'closed', 'peer closed'));
    // With a TLS hook, so that VeNCrypt (security type 19) is fuzzed too; TLS itself is Node's.
    const run = toDisplay ? authenticateToDisplay(peer, 'password', async (d) => d) : acceptClient(peer);
    await run.catch((e: unknown) => { if (!(e instanceof ProxyError)) throw e; });
    return true;
  }), { numRuns: RUNS });
  report('RFB handshakes', m);
});

test('view-only client streams (RFB and the SPICE main channel)', () => {
  let n = 0;
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), fc.boolean(), (chunks, mini) => {
    n++;
    const rfb = new RfbClientStream(true);
    const spice = new SpiceClientStream(ChannelType.main, mini);
    for (const filter of [rfb, spice]) {
      let received = 0;
      let forwarded = 0;
      refusesCleanly(() => { for (const c of chunks) { received += c.length; forwarded += filter.filter(Buffer.from(c)).length; } });
      assert.ok(forwarded <= received + 1);
    }
    return true;
  }), { numRuns: RUNS });
  report('view-only client streams', n);
});

test('RDCleanPath requests (DER) and the X.224 messages around them', () => {
  const valid = encodePdu({ destination: '192.0.2.10:3389', proxyAuth: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', x224: Buffer.from('0300002b26e00000000000436f6f6b69653a206d737473686173683d706f7274686f6c650d0a0100080003000000', 'hex') });
  // Garbage, valid PDUs with bytes changed, cut or appended, and well-formed PDUs with hostile fields.
  const mutated = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.nat(), tail: fc.uint8Array({ maxLength: 8 }) })
    .map(({ at, value, cut, tail }) => {
      const b = Buffer.from(valid);
      b[at % b.length] = value;
      return Buffer.concat([b.subarray(0, b.length - (cut % 4)), Buffer.from(tail)]);
    });
  const structured = fc.record({
    destination: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    proxyAuth: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    preconnectionBlob: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    x224: fc.option(fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)), { nil: undefined }),
    serverAddr: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  }).map((fields) => encodePdu(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))));
  const input = fc.oneof(fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)), mutated, structured);
  let n = 0;
  fc.assert(fc.property(input, (der) => {
    n++;
    refusesCleanly(() => {
      const length = pduLength(der.subarray(0, 5));
      if (length !== undefined) assert.ok(length >= 2 && length < 2 ** 24);
    });
    // decodeRequest decodes the whole PDU (decodePdu) first, then checks it is a request.
    refusesCleanly(() => checkConnectionRequest(decodeRequest(der).x224));
    refusesCleanly(() => parseConnectionConfirm(der));
    refusesCleanly(() => confirmLength(der.subarray(0, 4)));
    return true;
  }), { numRuns: RUNS });
  report('RDCleanPath', n);
});
