// The RDCleanPath codec against the bytes IronRDP defines (ironrdp-rdcleanpath's DER struct).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodePdu,
  decodeRequest,
  encodeFailure,
  encodeNegotiationFailure,
  encodePdu,
  encodeResponse,
  pduLength,
  RDCleanPathError,
} from '../../../proxy/rdp/rdcleanpath.js';
import { checkConnectionRequest, parseConnectionConfirm, X224Error } from '../../../proxy/rdp/x224.js';
import { x224ConnectionRequest } from '../../bed/protocol-clients.js';

test('a request round-trips: destination, token and the X.224 request as sent', () => {
  const x224 = x224ConnectionRequest(3);
  const der = encodePdu({ destination: 'win.lab:3389', proxyAuth: 'token-é', x224 });
  // SEQUENCE { [0] INTEGER 3390, [2] UTF8String, [3] UTF8String, [6] OCTET STRING }, EXPLICIT tags.
  assert.equal(der.subarray(0, 1).toString('hex'), '30');
  assert.ok(der.includes(Buffer.from('a00402020d3e', 'hex')), 'version [0] = 3390');
  assert.equal(pduLength(der), der.length);
  const request = decodeRequest(der);
  assert.deepEqual(request, { destination: 'win.lab:3389', proxyAuth: 'token-é', x224 });
  assert.doesNotThrow(() => checkConnectionRequest(request.x224));
});

test('answers: the response carries confirm, chain and address; failures carry their code', () => {
  const confirm = Buffer.from('0300001300000000000000000000000000000000'.slice(0, 38), 'hex');
  const response = decodePdu(encodeResponse(confirm, [Buffer.from([1, 2, 3]), Buffer.from([4])], '192.0.2.10'));
  assert.deepEqual(response.x224, confirm);
  assert.deepEqual(response.serverCertChain, [Buffer.from([1, 2, 3]), Buffer.from([4])]);
  assert.equal(response.serverAddr, '192.0.2.10');
  assert.deepEqual(decodePdu(encodeFailure({ httpStatus: 401 })).error, { code: 1, httpStatus: 401 });
  assert.deepEqual(decodePdu(encodeFailure({ wsaLastError: 10061 })).error, { code: 1, wsaLastError: 10061 });
  assert.deepEqual(decodePdu(encodeFailure({ tlsAlert: 48 })).error, { code: 1, tlsAlert: 48 });
  const negotiation = decodePdu(encodeNegotiationFailure(confirm));
  assert.equal(negotiation.error?.code, 2);
  assert.deepEqual(negotiation.x224, confirm);
});

test('what is not exactly one request PDU is refused with the reason', () => {
  const good = encodePdu({ destination: 'a:1', proxyAuth: 't', x224: x224ConnectionRequest(1) });
  const refused = (der: Buffer, reason: RegExp) =>
    assert.throws(
      () => decodeRequest(der),
      (e: Error) => e instanceof RDCleanPathError && reason.test(e.message),
    );
  refused(Buffer.concat([good, Buffer.from([0])]), /trailing bytes/);
  refused(good.subarray(0, good.length - 1), /not valid DER/);
  refused(encodePdu({ proxyAuth: 't', x224: x224ConnectionRequest(1) }), /no destination/);
  refused(encodePdu({ destination: 'a:1', x224: x224ConnectionRequest(1) }), /no token/);
  refused(encodePdu({ destination: 'a:1', proxyAuth: 't' }), /no X.224/);
  refused(encodePdu({ destination: 'a:1', proxyAuth: 't', x224: x224ConnectionRequest(1), serverAddr: 'x' }), /only a gateway may send/);
  const otherVersion = Buffer.from(good);
  otherVersion[otherVersion.indexOf(Buffer.from('0d3e', 'hex')) + 1] = 0x3f;
  refused(otherVersion, /version 3391 is not supported/);
  assert.throws(() => pduLength(Buffer.from('3080', 'hex')), /indefinite length/);
  assert.throws(() => pduLength(Buffer.from('GET / HTTP/1.1')), /not an RDCleanPath PDU/);
  assert.throws(() => pduLength(Buffer.from('308105', 'hex')), /not in DER form/);
  assert.equal(pduLength(Buffer.from('3082', 'hex')), undefined, 'needs the length octets first');
});

test('X.224: requests must be whole CR TPDUs; confirms say what the server chose or why it refused', () => {
  assert.throws(
    () => checkConnectionRequest(Buffer.from('0300000b06d00000000000', 'hex')),
    (e: Error) => e instanceof X224Error && /not a connection request/.test(e.message),
  );
  assert.throws(() => checkConnectionRequest(x224ConnectionRequest(1).subarray(0, 12)), /says/);
  const accepted = Buffer.from('0300001300000000000000000000000000000000'.slice(0, 38), 'hex');
  accepted[4] = 14;
  accepted[5] = 0xd0;
  accepted[11] = 0x02;
  accepted.writeUInt16LE(8, 13);
  accepted.writeUInt32LE(2, 15);
  assert.deepEqual(parseConnectionConfirm(accepted), { kind: 'accepted', selectedProtocol: 2 });
  accepted[11] = 0x03;
  accepted.writeUInt32LE(5, 15);
  assert.deepEqual(parseConnectionConfirm(accepted), { kind: 'refused', failureCode: 5 });
  accepted[5] = 0xe0;
  assert.throws(() => parseConnectionConfirm(accepted), /did not confirm/);
});
