// RDCleanPath, the PDU IronRDP's web client exchanges with a gateway before RDP flows over the
// WebSocket. Its normative definition is the DER SEQUENCE `RDCleanPathPdu` in IronRDP's
// crates/ironrdp-rdcleanpath: every field EXPLICIT context-tagged, version [0] = 3390. DER is
// read and written with asn1js; this file only maps fields, and refuses what is not the PDU.
import * as asn1 from 'asn1js';

export const RDCLEANPATH_VERSION = 3390;
const GENERAL_ERROR = 1;
const NEGOTIATION_ERROR = 2;

/** Field tags of RDCleanPathPdu. */
const Field = {
  version: 0,
  error: 1,
  destination: 2,
  proxyAuth: 3,
  serverAuth: 4,
  preconnectionBlob: 5,
  x224: 6,
  serverCertChain: 7,
  serverAddr: 9,
} as const;

/** Field tags of RDCleanPathErr. */
const ErrorField = { code: 0, httpStatus: 1, wsaLastError: 2, tlsAlert: 3 } as const;

/** What a browser asks the gateway for. */
export interface RDCleanPathRequest {
  destination: string;
  proxyAuth: string;
  preconnectionBlob?: string;
  /** The client's X.224 Connection Request, TPKT framed, to be sent to the server as is. */
  x224: Buffer;
}

export interface RDCleanPathFailure {
  /** An HTTP status for refusals by the gateway (401 token, 403 not allowed, ...). */
  httpStatus?: number;
  /** A Windows Sockets error for network failures (10061 refused, 10060 timed out, ...). */
  wsaLastError?: number;
  /** A TLS alert for TLS failures with the RDP server (42 bad certificate, ...). */
  tlsAlert?: number;
}

/** Any RDCleanPath PDU, as decoded (requests, responses and errors alike). */
export interface RDCleanPathPdu {
  version: number;
  error?: RDCleanPathFailure & { code: number };
  destination?: string;
  proxyAuth?: string;
  serverAuth?: string;
  preconnectionBlob?: string;
  x224?: Buffer;
  serverCertChain?: Buffer[];
  serverAddr?: string;
}

/** Malformed or unexpected RDCleanPath; the message says what, for the log and the user. */
export class RDCleanPathError extends Error {
  override name = 'RDCleanPathError';
}

const MAX_STRING = 8192;
const MAX_CHAIN = 16;

function fail(message: string): never {
  throw new RDCleanPathError(message);
}

/**
 * How many bytes the DER value at the start of `header` occupies in all, once enough of its
 * header is known: `undefined` while more bytes are needed. Refuses what cannot start a PDU.
 */
export function pduLength(header: Buffer): number | undefined {
  if (header.length < 2) return undefined;
  if (header[0] !== 0x30) fail('the first message is not an RDCleanPath PDU (no DER SEQUENCE)');
  const first = header[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0) fail('the RDCleanPath PDU uses an indefinite length, which DER forbids');
  if (octets > 3) fail('the RDCleanPath PDU announces an impossible length');
  if (header.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + header[2 + i]!;
  if (length < 0x80 || (octets > 1 && header[2] === 0)) fail('the RDCleanPath PDU length is not in DER form');
  return 2 + octets + length;
}

/** DER has definite lengths only; asn1js also reads BER's indefinite ones, so they are refused here. */
function checkDefinite(block: asn1.AsnType): void {
  const any = block as asn1.BaseBlock & { valueBlock: { value?: unknown } };
  if (any.lenBlock?.isIndefiniteForm) fail('an RDCleanPath field uses an indefinite length, which DER forbids');
  // Only constructed members hold members; asn1js also peeks into OCTET STRING contents.
  const inner = any.idBlock?.isConstructed ? any.valueBlock.value : undefined;
  if (Array.isArray(inner)) for (const child of inner) checkDefinite(child as asn1.AsnType);
}

function integer(block: asn1.AsnType, what: string, max: number): number {
  if (!(block instanceof asn1.Integer) || block.idBlock.isConstructed) fail(`${what} is not an INTEGER`);
  const value = block.toBigInt();
  if (value < 0n || value > BigInt(max)) fail(`${what} is out of range`);
  return Number(value);
}

function utf8(block: asn1.AsnType, what: string): string {
  if (!(block instanceof asn1.Utf8String) || block.idBlock.isConstructed) fail(`${what} is not a UTF8String`);
  const bytes = block.valueBlock.valueHexView;
  if (bytes.length > MAX_STRING) fail(`${what} is longer than ${MAX_STRING} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(`${what} is not valid UTF-8`);
  }
}

function octets(block: asn1.AsnType, what: string): Buffer {
  if (!(block instanceof asn1.OctetString) || block.idBlock.isConstructed) fail(`${what} is not an OCTET STRING`);
  return Buffer.from(block.valueBlock.valueHexView);
}

/** The members of a SEQUENCE as [tag, inner value] pairs of EXPLICIT context tags, in order. */
function taggedMembers(block: asn1.AsnType, what: string): Array<[number, asn1.AsnType]> {
  if (!(block instanceof asn1.Sequence)) fail(`${what} is not a SEQUENCE`);
  const members: Array<[number, asn1.AsnType]> = [];
  let last = -1;
  for (const member of block.valueBlock.value) {
    const id = member.idBlock;
    const inner = (member as asn1.Constructed).valueBlock?.value;
    if (id.tagClass !== 3 || !id.isConstructed || !Array.isArray(inner) || inner.length !== 1) {
      fail(`${what} has a member that is not an EXPLICIT context-specific field`);
    }
    if (id.tagNumber <= last) fail(`${what} has fields out of order or repeated`);
    last = id.tagNumber;
    members.push([id.tagNumber, inner[0]!]);
  }
  return members;
}

function decodeFailure(block: asn1.AsnType): RDCleanPathFailure & { code: number } {
  const failure: RDCleanPathFailure & { code: number } = { code: -1 };
  for (const [tag, value] of taggedMembers(block, 'the RDCleanPath error')) {
    if (tag === ErrorField.code) failure.code = integer(value, 'the error code', 0xffff);
    else if (tag === ErrorField.httpStatus) failure.httpStatus = integer(value, 'the HTTP status', 0xffff);
    else if (tag === ErrorField.wsaLastError) failure.wsaLastError = integer(value, 'the WSA error', 0xffff);
    else if (tag === ErrorField.tlsAlert) failure.tlsAlert = integer(value, 'the TLS alert', 0xff);
    else fail(`the RDCleanPath error has an unknown field [${tag}]`);
  }
  if (failure.code < 0) fail('the RDCleanPath error has no error code');
  return failure;
}

/** Decodes exactly one PDU: the whole buffer, nothing before or after it. */
export function decodePdu(der: Buffer): RDCleanPathPdu {
  let parsed: ReturnType<typeof asn1.fromBER>;
  try {
    parsed = asn1.fromBER(der);
  } catch (error) {
    // asn1js throws on some malformed values (a GeneralizedTime that is not a time, found by fuzzing).
    return fail(`the RDCleanPath PDU is not valid DER (${(error as Error).message})`);
  }
  if (parsed.offset === -1) fail(`the RDCleanPath PDU is not valid DER (${parsed.result.error || 'undecodable'})`);
  if (parsed.offset !== der.length) fail('the RDCleanPath PDU is followed by trailing bytes');
  checkDefinite(parsed.result);
  const pdu: Partial<RDCleanPathPdu> = {};
  for (const [tag, value] of taggedMembers(parsed.result, 'the RDCleanPath PDU')) {
    switch (tag) {
      case Field.version:
        pdu.version = integer(value, 'the version', Number.MAX_SAFE_INTEGER);
        break;
      case Field.error:
        pdu.error = decodeFailure(value);
        break;
      case Field.destination:
        pdu.destination = utf8(value, 'the destination');
        break;
      case Field.proxyAuth:
        pdu.proxyAuth = utf8(value, 'the proxy authorization');
        break;
      case Field.serverAuth:
        pdu.serverAuth = utf8(value, 'the server authorization');
        break;
      case Field.preconnectionBlob:
        pdu.preconnectionBlob = utf8(value, 'the preconnection blob');
        break;
      case Field.x224:
        pdu.x224 = octets(value, 'the X.224 PDU');
        break;
      case Field.serverCertChain: {
        if (!(value instanceof asn1.Sequence)) fail('the certificate chain is not a SEQUENCE');
        if (value.valueBlock.value.length > MAX_CHAIN) fail(`the certificate chain has more than ${MAX_CHAIN} certificates`);
        pdu.serverCertChain = value.valueBlock.value.map((c) => octets(c, 'a certificate'));
        break;
      }
      case Field.serverAddr:
        pdu.serverAddr = utf8(value, 'the server address');
        break;
      default:
        fail(`the RDCleanPath PDU has an unknown field [${tag}]`);
    }
  }
  if (pdu.version === undefined) fail('the RDCleanPath PDU has no version');
  if (pdu.version !== RDCLEANPATH_VERSION) fail(`RDCleanPath version ${pdu.version} is not supported (${RDCLEANPATH_VERSION} is)`);
  return pdu as RDCleanPathPdu;
}

/** Decodes the browser's request: one PDU with a destination, a token and an X.224 request, and nothing a server sends. */
export function decodeRequest(der: Buffer): RDCleanPathRequest {
  const pdu = decodePdu(der);
  if (pdu.error || pdu.serverCertChain || pdu.serverAddr || pdu.serverAuth !== undefined) {
    fail('the RDCleanPath request carries fields only a gateway may send');
  }
  if (pdu.destination === undefined) fail('the RDCleanPath request has no destination');
  if (pdu.proxyAuth === undefined) fail('the RDCleanPath request has no token (proxy_auth)');
  if (pdu.x224 === undefined) fail('the RDCleanPath request has no X.224 connection request');
  return {
    destination: pdu.destination,
    proxyAuth: pdu.proxyAuth,
    x224: pdu.x224,
    ...(pdu.preconnectionBlob !== undefined ? { preconnectionBlob: pdu.preconnectionBlob } : {}),
  };
}

function tagged(tag: number, value: asn1.AsnType): asn1.Constructed {
  return new asn1.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, value: [value] });
}

function encode(members: asn1.AsnType[]): Buffer {
  return Buffer.from(
    new asn1.Sequence({ value: [tagged(Field.version, new asn1.Integer({ value: RDCLEANPATH_VERSION })), ...members] }).toBER(),
  );
}

function octetString(bytes: Uint8Array): asn1.OctetString {
  return new asn1.OctetString({ valueHex: bytes });
}

/** Encodes any PDU (the gateway's answers; tests build requests with it). */
export function encodePdu(pdu: Omit<RDCleanPathPdu, 'version'>): Buffer {
  const members: asn1.AsnType[] = [];
  if (pdu.error) {
    const e = pdu.error;
    const fields: asn1.AsnType[] = [tagged(ErrorField.code, new asn1.Integer({ value: e.code }))];
    if (e.httpStatus !== undefined) fields.push(tagged(ErrorField.httpStatus, new asn1.Integer({ value: e.httpStatus })));
    if (e.wsaLastError !== undefined) fields.push(tagged(ErrorField.wsaLastError, new asn1.Integer({ value: e.wsaLastError })));
    if (e.tlsAlert !== undefined) fields.push(tagged(ErrorField.tlsAlert, new asn1.Integer({ value: e.tlsAlert })));
    members.push(tagged(Field.error, new asn1.Sequence({ value: fields })));
  }
  if (pdu.destination !== undefined) members.push(tagged(Field.destination, new asn1.Utf8String({ value: pdu.destination })));
  if (pdu.proxyAuth !== undefined) members.push(tagged(Field.proxyAuth, new asn1.Utf8String({ value: pdu.proxyAuth })));
  if (pdu.serverAuth !== undefined) members.push(tagged(Field.serverAuth, new asn1.Utf8String({ value: pdu.serverAuth })));
  if (pdu.preconnectionBlob !== undefined)
    members.push(tagged(Field.preconnectionBlob, new asn1.Utf8String({ value: pdu.preconnectionBlob })));
  if (pdu.x224) members.push(tagged(Field.x224, octetString(pdu.x224)));
  if (pdu.serverCertChain) members.push(tagged(Field.serverCertChain, new asn1.Sequence({ value: pdu.serverCertChain.map(octetString) })));
  if (pdu.serverAddr !== undefined) members.push(tagged(Field.serverAddr, new asn1.Utf8String({ value: pdu.serverAddr })));
  return encode(members);
}

/** The gateway's answer once the RDP server confirmed and TLS is up. */
export function encodeResponse(x224Confirm: Buffer, certificateChain: Buffer[], serverAddr: string): Buffer {
  return encodePdu({ x224: x224Confirm, serverCertChain: certificateChain, serverAddr });
}

/** A refusal the web client shows (IronRDP reports the HTTP status, WSA code or TLS alert). */
export function encodeFailure(failure: RDCleanPathFailure): Buffer {
  return encodePdu({ error: { code: GENERAL_ERROR, ...failure } });
}

/** The server refused the requested security protocols: its X.224 confirm goes back as is. */
export function encodeNegotiationFailure(x224Confirm: Buffer): Buffer {
  return encodePdu({ error: { code: NEGOTIATION_ERROR }, x224: x224Confirm });
}
