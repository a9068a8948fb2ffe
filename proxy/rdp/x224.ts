// The two RDP messages the gateway looks at before TLS: the client's X.224 Connection Request
// (checked, then sent on as is) and the server's Connection Confirm (one TPKT frame, read to
// learn whether the server agreed to a TLS-based security protocol). [MS-RDPBCGR] 2.2.1.1-2.2.1.2;
// TPKT is RFC 1006, X.224 is ITU-T X.224 class 0.

export const TPKT_HEADER_SIZE = 4;
/** A confirm is 19 bytes; anything near this limit is not one. */
const MAX_CONFIRM = 1024;
const X224_CONNECTION_REQUEST = 0xe0;
const X224_CONNECTION_CONFIRM = 0xd0;
const TYPE_RDP_NEG_RSP = 0x02;
const TYPE_RDP_NEG_FAILURE = 0x03;

/** Security protocols of RDP_NEG_REQ/RSP. */
export const SecurityProtocol = { rdp: 0, ssl: 1, hybrid: 2, rdstls: 4, hybridEx: 8 } as const;

export class X224Error extends Error {
  override name = 'X224Error';
}

function tpktLength(frame: Buffer, who: string): number {
  if (frame.length < TPKT_HEADER_SIZE || frame[0] !== 3 || frame[1] !== 0) throw new X224Error(`${who} did not send a TPKT frame`);
  return frame.readUInt16BE(2);
}

/** Checks the browser's X.224 Connection Request: one whole TPKT frame carrying a CR TPDU. */
export function checkConnectionRequest(frame: Buffer): void {
  const who = 'The RDP client';
  const length = tpktLength(frame, who);
  if (length !== frame.length) throw new X224Error(`${who}'s connection request is ${frame.length} bytes but says ${length}`);
  if (frame.length < 11) throw new X224Error(`${who}'s connection request is too short`);
  const li = frame[4]!;
  if (li !== frame.length - 5) throw new X224Error(`${who}'s connection request has a wrong X.224 length`);
  if ((frame[5]! & 0xf0) !== X224_CONNECTION_REQUEST) throw new X224Error(`${who} sent an X.224 PDU that is not a connection request`);
}

/** The whole length of the server's confirm from its TPKT header (4 bytes). */
export function confirmLength(header: Buffer): number {
  const length = tpktLength(header, 'The RDP server');
  if (length < 11 || length > MAX_CONFIRM) throw new X224Error(`The RDP server announced a ${length}-byte connection confirm`);
  return length;
}

export type Confirm = { kind: 'accepted'; selectedProtocol: number } | { kind: 'refused'; failureCode: number };

/** Reads the server's X.224 Connection Confirm: which security protocol it chose, or why it refused. */
export function parseConnectionConfirm(frame: Buffer): Confirm {
  const length = confirmLength(frame);
  if (length !== frame.length) throw new X224Error('The RDP server sent a truncated connection confirm');
  const li = frame[4]!;
  if (li !== frame.length - 5) throw new X224Error('The RDP server sent a confirm with a wrong X.224 length');
  if ((frame[5]! & 0xf0) !== X224_CONNECTION_CONFIRM) throw new X224Error('The RDP server did not confirm the connection');
  // Without a negotiation structure the server speaks only standard RDP security.
  if (frame.length < 19) return { kind: 'accepted', selectedProtocol: SecurityProtocol.rdp };
  const type = frame[11]!;
  const value = frame.readUInt32LE(15);
  if (type === TYPE_RDP_NEG_RSP) return { kind: 'accepted', selectedProtocol: value };
  if (type === TYPE_RDP_NEG_FAILURE) return { kind: 'refused', failureCode: value };
  throw new X224Error(`The RDP server answered with an unknown negotiation type ${type}`);
}

/** Names of RDP_NEG_FAILURE codes, for people. */
export function negotiationFailureText(code: number): string {
  switch (code) {
    case 1:
      return 'it requires TLS';
    case 2:
      return 'it allows only standard RDP security, which browsers cannot use';
    case 3:
      return 'it has no certificate for TLS';
    case 5:
      return 'it requires Network Level Authentication';
    case 6:
      return 'it requires Network Level Authentication with TLS';
    default:
      return `it refused the security protocols (code ${code})`;
  }
}
