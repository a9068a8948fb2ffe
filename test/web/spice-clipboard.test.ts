// The SPICE agent's clipboard messages (vd_agent.h) and the client's side of the clipboard
// conversation, as pure logic: bytes in, bytes out, against layouts written out by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { applyPatches } from '../../web/patches/source-patch.js';
import { spiceHtml5Patches } from '../../web/patches/spice-html5.js';
import { CLIPBOARD_LIMIT_BYTES, type ClipboardEvent } from '../../web/src/clipboard-text.js';
import {
  AgentCapability,
  AgentMessageType,
  AgentStream,
  agentMessage,
  decodeCapabilities,
  decodeClipboard,
  encodeCapabilities,
  encodeClipboard,
  encodeGrab,
  encodeRelease,
  encodeRequest,
} from '../../web/src/connectors/spice-agent.js';
import { CLIENT_CAPABILITIES, SpiceClipboard } from '../../web/src/connectors/spice-clipboard.js';

const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const bytes = (...parts: (number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const text = (s: string) => new TextEncoder().encode(s);

test('clipboard bodies have the layout of vd_agent.h, with the selection header only when asked for', () => {
  assert.deepEqual(encodeGrab(0, [1]), bytes([0, 0, 0, 0], u32(1)));
  assert.deepEqual(encodeGrab(undefined, [1, 2]), bytes(u32(1), u32(2)));
  assert.deepEqual(encodeRequest(1, 1), bytes([1, 0, 0, 0], u32(1)));
  assert.deepEqual(encodeClipboard(0, 1, text('hé')), bytes([0, 0, 0, 0], u32(1), text('hé')));
  assert.deepEqual(encodeClipboard(undefined, 0, new Uint8Array(0)), bytes(u32(0)));
  assert.deepEqual(encodeRelease(0), bytes([0, 0, 0, 0]));
  assert.deepEqual(encodeRelease(undefined), new Uint8Array(0));
  assert.deepEqual(decodeClipboard(AgentMessageType.clipboardGrab, bytes([1, 0, 0, 0], u32(1), u32(2)), true), {
    selection: 1,
    types: [1, 2],
    data: new Uint8Array(0),
  });
  const clip = decodeClipboard(AgentMessageType.clipboard, bytes(u32(1), text('abc')), false)!;
  assert.equal(clip.selection, 0);
  assert.deepEqual(clip.types, [1]);
  assert.equal(new TextDecoder().decode(clip.data), 'abc');
  assert.equal(decodeClipboard(AgentMessageType.clipboardRequest, bytes([0, 0]), true), undefined, 'too short to be a request');
});

test('capabilities: the words of bits, and the request flag', () => {
  const body = encodeCapabilities(true, [0, 5, 6, 33]);
  assert.deepEqual(body, bytes(u32(1), u32((1 << 0) | (1 << 5) | (1 << 6)), u32(1 << 1)));
  const caps = decodeCapabilities(body);
  assert.equal(caps.request, true);
  assert.ok(caps.has(5) && caps.has(6) && caps.has(33));
  assert.ok(!caps.has(1) && !caps.has(17) && !caps.has(70));
  assert.equal(decodeCapabilities(bytes(u32(0), u32(8))).request, false);
});

test("the agent's stream: a message over several payloads, several in one, and an oversized body skipped", () => {
  const stream = new AgentStream(16);
  const long = agentMessage(AgentMessageType.clipboard, bytes(u32(1), text('0123456789AB')));
  assert.deepEqual(stream.push(long.subarray(0, 7)), []);
  assert.ok(stream.midMessage);
  assert.deepEqual(stream.push(long.subarray(7, 25)), []);
  const [whole] = stream.push(long.subarray(25));
  assert.ok(whole && 'body' in whole);
  assert.equal(whole.type, AgentMessageType.clipboard);
  assert.equal(new TextDecoder().decode(whole.body.subarray(4)), '0123456789AB');
  assert.ok(!stream.midMessage);

  const two = bytes(agentMessage(AgentMessageType.clipboardRelease, new Uint8Array(0)), agentMessage(9, bytes([0, 0, 0, 0])));
  assert.deepEqual(
    stream.push(two).map((m) => m.type),
    [9, 9],
  );
  const big = agentMessage(AgentMessageType.clipboard, new Uint8Array(40));
  const skipped = stream.push(big.subarray(0, 30));
  assert.deepEqual(skipped, [{ type: AgentMessageType.clipboard, skipped: 40 }]);
  const after = stream.push(bytes(big.subarray(30), agentMessage(7, bytes(u32(1)))));
  assert.deepEqual(
    after.map((m) => m.type),
    [7],
    'the stream goes on after the skipped body',
  );
});

/** A clipboard over a recording link, with the agent's capabilities already announced. */
function clipboardWithAgent(agentCaps: number[]) {
  const sent: { type: number; body: Uint8Array }[] = [];
  const clipboard = new SpiceClipboard({ send: (type, body) => sent.push({ type, body }) });
  const events: ClipboardEvent[] = [];
  clipboard.onEvent((e) => events.push(e));
  const readiness: boolean[] = [];
  clipboard.onReady((r) => readiness.push(r));
  const fromAgent = (type: number, body: Uint8Array) => clipboard.agentData(agentMessage(type, body));
  const handled = fromAgent(AgentMessageType.announceCapabilities, encodeCapabilities(false, agentCaps));
  return { clipboard, sent, events, readiness, fromAgent, handled };
}

test('the client announces clipboard by demand and selections, and never GRAB_SERIAL', () => {
  assert.ok(CLIENT_CAPABILITIES.includes(AgentCapability.clipboardByDemand));
  assert.ok(CLIENT_CAPABILITIES.includes(AgentCapability.clipboardSelection));
  assert.ok(!CLIENT_CAPABILITIES.includes(17));
});

test('text from the browser: GRAB, then the guest asks (REQUEST) and gets it (CLIPBOARD); a PRIMARY request gets none', () => {
  const { clipboard, sent, readiness, fromAgent, handled } = clipboardWithAgent([3, 5, 6, 8]);
  assert.equal(handled, false, 'spice-html5 still sees the capabilities, to answer a request for its own');
  assert.ok(clipboard.ready);
  assert.deepEqual(readiness, [true]);
  assert.equal(clipboard.send('grüße'), undefined);
  assert.deepEqual(sent.shift(), { type: AgentMessageType.clipboardGrab, body: bytes([0, 0, 0, 0], u32(1)) });
  assert.equal(fromAgent(AgentMessageType.clipboardRequest, bytes([0, 0, 0, 0], u32(1))), true);
  assert.deepEqual(sent.shift(), { type: AgentMessageType.clipboard, body: bytes([0, 0, 0, 0], u32(1), text('grüße')) });
  fromAgent(AgentMessageType.clipboardRequest, bytes([1, 0, 0, 0], u32(1)));
  assert.deepEqual(
    sent.shift(),
    { type: AgentMessageType.clipboard, body: bytes([1, 0, 0, 0], u32(0)) },
    'an empty answer, so the agent does not wait',
  );
  // Once the guest copies something itself, the browser's text is no longer offered.
  fromAgent(AgentMessageType.clipboardGrab, bytes([0, 0, 0, 0], u32(2)));
  assert.equal(sent.length, 0, 'an image only: nothing is asked for');
  fromAgent(AgentMessageType.clipboardRequest, bytes([0, 0, 0, 0], u32(1)));
  assert.deepEqual(sent.shift(), { type: AgentMessageType.clipboard, body: bytes([0, 0, 0, 0], u32(0)) });
});

test('text from the guest: its GRAB is answered with a REQUEST for text, and the CLIPBOARD that follows reaches the page', () => {
  const { sent, events, fromAgent } = clipboardWithAgent([5, 6]);
  fromAgent(AgentMessageType.clipboardGrab, bytes([0, 0, 0, 0], u32(1), u32(2)));
  assert.deepEqual(sent.shift(), { type: AgentMessageType.clipboardRequest, body: bytes([0, 0, 0, 0], u32(1)) });
  fromAgent(AgentMessageType.clipboard, bytes([0, 0, 0, 0], u32(1), text('from the guest\0')));
  assert.deepEqual(events, [{ text: 'from the guest' }]);
  // X's PRIMARY selection (text merely selected) is not the clipboard people paste from.
  fromAgent(AgentMessageType.clipboardGrab, bytes([1, 0, 0, 0], u32(1)));
  assert.equal(sent.length, 0);
});

test('an agent without selections gets messages without the header; a Windows agent gets CRLF line ends', () => {
  const plain = clipboardWithAgent([5, 9]);
  plain.clipboard.send('a\nb');
  assert.deepEqual(plain.sent.shift(), { type: AgentMessageType.clipboardGrab, body: bytes(u32(1)) });
  plain.fromAgent(AgentMessageType.clipboardRequest, bytes(u32(1)));
  assert.deepEqual(plain.sent.shift(), { type: AgentMessageType.clipboard, body: bytes(u32(1), text('a\r\nb')) });
  plain.fromAgent(AgentMessageType.clipboard, bytes(u32(1), text('c\r\nd')));
  assert.deepEqual(plain.events, [{ text: 'c\nd' }]);
});

test('no agent, an agent without clipboard, or text over the limit: nothing is sent, and the reason says why', () => {
  const sent: unknown[] = [];
  const none = new SpiceClipboard({ send: (...m) => sent.push(m) });
  assert.match(none.send('x')!, /clipboard agent is not running/);
  const old = clipboardWithAgent([0, 1]);
  assert.equal(old.clipboard.ready, false);
  assert.match(old.clipboard.send('x')!, /agent is not running/);
  const ready = clipboardWithAgent([5, 6]);
  assert.match(ready.clipboard.send('x'.repeat(CLIPBOARD_LIMIT_BYTES + 1))!, /up to 1\.0 MB/);
  assert.equal(sent.length + old.sent.length + ready.sent.length, 0);
  // The agent went away: not ready, and the page is told.
  ready.clipboard.agentChanged();
  assert.equal(ready.clipboard.ready, false);
  assert.deepEqual(ready.readiness, [true, false]);
});

test("a guest's clipboard over the limit is skipped across its payloads and reported; the next message is handled", () => {
  const { events, sent, clipboard } = clipboardWithAgent([5, 6]);
  const big = agentMessage(AgentMessageType.clipboard, bytes([0, 0, 0, 0], u32(1), new Uint8Array(CLIPBOARD_LIMIT_BYTES + 100)));
  for (let at = 0; at < big.length; at += 2048) assert.equal(clipboard.agentData(big.subarray(at, at + 2048)), true);
  assert.equal(events.length, 1);
  assert.ok('refused' in events[0]! && /from the desktop is 1\.0 MB; Porthole carries up to 1\.0 MB/.test(events[0].refused));
  clipboard.agentData(agentMessage(AgentMessageType.clipboardGrab, bytes([0, 0, 0, 0], u32(1))));
  assert.equal(sent.length, 1);
});

test('the spice-html5 patches apply to main.js: agent payloads go to the connector first, and the capabilities are its', () => {
  const PACKAGE = fileURLToPath(new URL('../../../node_modules/@spice-project/spice-html5/', import.meta.url));
  const patched = applyPatches(
    readFileSync(`${PACKAGE}src/main.js`, 'utf8'),
    spiceHtml5Patches.filter((p) => p.file === 'src/main.js'),
    'main.js',
  );
  assert.match(patched, /this\.porthole_agent_data\(msg\.data\)\)\n\s+return true;\n\s+var agent_data = /);
  assert.equal(patched.split('this.porthole_agent_changed();').length - 1, 2, 'connected and disconnected');
  assert.match(patched, /VDAgentAnnounceCapabilities\(request, this\.porthole_agent_caps !== undefined \? this\.porthole_agent_caps :/);
});
