// SPICE link messages: the cleartext start of every SPICE channel (spice-protocol's
// spice/protocol.h: SpiceLinkHeader, SpiceLinkMess, SpiceLinkReply). Every length and offset
// comes from a peer, so each is checked before use.
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';

export const SPICE_MAGIC = 0x51444552; // "REDQ" little-endian
export const LINK_HEADER_SIZE = 16;
/** Largest link body accepted: 18 bytes of fields plus generous room for capabilities. */
export const MAX_LINK_BODY = 4096;
export const TICKET_SIZE = 128; // RSA-1024 ciphertext
export const PUBLIC_KEY_SIZE = 162; // X.509 SubjectPublicKeyInfo of an RSA-1024 key

export const ChannelType = {
  main: 1,
  display: 2,
  inputs: 3,
  cursor: 4,
  playback: 5,
  record: 6,
  tunnel: 7,
  smartcard: 8,
  usbredir: 9,
  port: 10,
  webdav: 11,
} as const;

export const CommonCap = { authSelection: 0, authSpice: 1, authSasl: 2, miniHeader: 3 } as const;
export const AuthMechanism = { spice: 1, sasl: 2 } as const;

export interface LinkHeader {
  major: number;
  minor: number;
  size: number;
}

export interface LinkMess {
  connectionId: number;
  channelType: number;
  channelId: number;
  commonCaps: number[];
  channelCaps: number[];
}

export interface LinkReply {
  error: number;
  publicKey: Buffer;
  commonCaps: number[];
  channelCaps: number[];
}

function protocolError(who: string, detail: string): ProxyError {
  return new ProxyError(CloseCode.protocolError, `${who} did not start a valid SPICE connection.`, `${who}: ${detail}`);
}

export function parseLinkHeader(bytes: Buffer, who: string): LinkHeader {
  if (bytes.length !== LINK_HEADER_SIZE) throw protocolError(who, `link header of ${bytes.length} bytes`);
  if (bytes.readUInt32LE(0) !== SPICE_MAGIC) throw protocolError(who, 'no REDQ magic');
  const major = bytes.readUInt32LE(4);
  const minor = bytes.readUInt32LE(8);
  const size = bytes.readUInt32LE(12);
  if (major !== 2) throw protocolError(who, `SPICE protocol version ${major}, only 2 is supported`);
  if (size > MAX_LINK_BODY) throw protocolError(who, `link message of ${size} bytes (limit ${MAX_LINK_BODY})`);
  return { major, minor, size };
}

/** Capability words at `offset` within `body`; the counts and offset come from the peer. */
function readCaps(body: Buffer, offset: number, common: number, channel: number, who: string): [number[], number[]] {
  if (common > 64 || channel > 64) throw protocolError(who, `${common}+${channel} capability words`);
  const end = offset + 4 * (common + channel);
  if (offset > body.length || end > body.length) throw protocolError(who, 'capabilities beyond the message');
  const words: number[] = [];
  for (let at = offset; at < end; at += 4) words.push(body.readUInt32LE(at));
  return [words.slice(0, common), words.slice(common)];
}

/** SpiceLinkMess, the client's first message on a channel. */
export function parseLinkMess(body: Buffer, who: string): LinkMess {
  if (body.length < 18) throw protocolError(who, `link message of ${body.length} bytes`);
  const [commonCaps, channelCaps] = readCaps(body, body.readUInt32LE(14), body.readUInt32LE(6), body.readUInt32LE(10), who);
  return {
    connectionId: body.readUInt32LE(0),
    channelType: body[4]!,
    channelId: body[5]!,
    commonCaps,
    channelCaps,
  };
}

/** SpiceLinkReply, the server's answer with its public key. */
export function parseLinkReply(body: Buffer, who: string): LinkReply {
  if (body.length < 4) throw protocolError(who, `link reply of ${body.length} bytes`);
  const error = body.readUInt32LE(0);
  if (error !== 0) return { error, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] };
  const fixed = 4 + PUBLIC_KEY_SIZE + 12;
  if (body.length < fixed) throw protocolError(who, `link reply of ${body.length} bytes`);
  const at = 4 + PUBLIC_KEY_SIZE;
  const [commonCaps, channelCaps] = readCaps(body, body.readUInt32LE(at + 8), body.readUInt32LE(at), body.readUInt32LE(at + 4), who);
  return { error, publicKey: body.subarray(4, 4 + PUBLIC_KEY_SIZE), commonCaps, channelCaps };
}

export function hasCap(words: readonly number[], bit: number): boolean {
  return (((words[bit >> 5] ?? 0) >>> (bit & 31)) & 1) === 1;
}

/** spice-protocol's SpiceLinkErr, worded for people. */
export function linkErrorText(code: number): string {
  switch (code) {
    case 1:
      return 'error';
    case 2:
      return 'invalid magic';
    case 3:
      return 'invalid data';
    case 4:
      return 'version mismatch';
    case 5:
      return 'the server needs TLS';
    case 6:
      return 'the server refuses TLS';
    case 7:
      return 'permission denied';
    case 8:
      return 'invalid password';
    case 9:
      return 'no such connection id';
    case 10:
      return 'channel not available';
    default:
      return `error ${code}`;
  }
}
