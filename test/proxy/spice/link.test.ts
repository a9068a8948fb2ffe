import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyError } from '../../../proxy/close.js';
import { CommonCap, hasCap, parseLinkHeader, parseLinkMess, parseLinkReply, SPICE_MAGIC } from '../../../proxy/spice/link.js';

function header(size: number, magic = SPICE_MAGIC, major = 2): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(magic, 0);
  b.writeUInt32LE(major, 4);
  b.writeUInt32LE(2, 8);
  b.writeUInt32LE(size, 12);
  return b;
}

function mess(connectionId: number, type: number, common: number[], channel: number[]): Buffer {
  const b = Buffer.alloc(18 + 4 * (common.length + channel.length));
  b.writeUInt32LE(connectionId, 0);
  b[4] = type;
  b[5] = 0;
  b.writeUInt32LE(common.length, 6);
  b.writeUInt32LE(channel.length, 10);
  b.writeUInt32LE(18, 14);
  [...common, ...channel].forEach((w, i) => b.writeUInt32LE(w, 18 + 4 * i));
  return b;
}

test('a link message gives connection id, channel type and capabilities', () => {
  const m = parseLinkMess(mess(0x1234, 2, [0b1011], [7]), 'client');
  assert.equal(m.connectionId, 0x1234);
  assert.equal(m.channelType, 2);
  assert.deepEqual(m.commonCaps, [0b1011]);
  assert.deepEqual(m.channelCaps, [7]);
  assert.equal(hasCap(m.commonCaps, CommonCap.authSelection), true);
  assert.equal(hasCap(m.commonCaps, CommonCap.authSasl), false);
  assert.equal(hasCap(m.commonCaps, CommonCap.miniHeader), true);
  assert.equal(hasCap([], 40), false);
});

test('headers: wrong magic, wrong major and oversized bodies are protocol errors', () => {
  assert.equal(parseLinkHeader(header(30), 'c').size, 30);
  for (const bad of [header(30, 0x41414141), header(30, SPICE_MAGIC, 1), header(1 << 20), Buffer.alloc(3)]) {
    assert.throws(
      () => parseLinkHeader(bad, 'The browser'),
      (e: unknown) => e instanceof ProxyError && e.code === 4400 && /SPICE/.test(e.reason),
    );
  }
});

test('capability counts and offsets that point outside the message are refused', () => {
  const m = mess(0, 1, [1], []);
  m.writeUInt32LE(1000, 6); // claims 1000 common caps
  assert.throws(() => parseLinkMess(m, 'c'), ProxyError);
  const n = mess(0, 1, [1], []);
  n.writeUInt32LE(0xfffffff0, 14); // offset far outside
  assert.throws(() => parseLinkMess(n, 'c'), ProxyError);
  assert.throws(() => parseLinkMess(Buffer.alloc(10), 'c'), ProxyError);
});

test('a link reply carries the server key; an error reply carries only its code', () => {
  const body = Buffer.alloc(4 + 162 + 12 + 4);
  body.fill(7, 4, 166);
  body.writeUInt32LE(1, 166);
  body.writeUInt32LE(0, 170);
  body.writeUInt32LE(178, 174);
  body.writeUInt32LE(0b1111, 178);
  const r = parseLinkReply(body, 'display');
  assert.equal(r.error, 0);
  assert.equal(r.publicKey.length, 162);
  assert.equal(r.publicKey[0], 7);
  assert.deepEqual(r.commonCaps, [0b1111]);
  const err = Buffer.alloc(4);
  err.writeUInt32LE(7, 0);
  assert.equal(parseLinkReply(err, 'display').error, 7);
  assert.throws(() => parseLinkReply(Buffer.alloc(50), 'display'), ProxyError);
});
