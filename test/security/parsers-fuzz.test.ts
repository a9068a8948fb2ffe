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

const RUNS = 100_000;

/** Runs `parse` on fuzzed input; anything but a ProxyError is a failure. */
function refusesCleanly(parse: () => unknown): boolean {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ProxyError)) throw error;
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
    const run = toDisplay ? authenticateToDisplay(peer, 'password') : acceptClient(peer);
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
