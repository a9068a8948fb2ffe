// The SPICE ticket: the display password, NUL-terminated, encrypted with RSA-OAEP (SHA-1) under
// the public key the server sent in its link reply. The proxy makes it, not the browser.
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import { TICKET_SIZE } from './link.js';

export function encryptTicket(serverPublicKey: Buffer, password: string): Buffer {
  let key;
  try {
    key = createPublicKey({ key: serverPublicKey, format: 'der', type: 'spki' });
  } catch {
    throw new ProxyError(
      CloseCode.protocolError,
      "The desktop's display sent an invalid SPICE key.",
      'SPICE link reply key is not an SPKI RSA key',
    );
  }
  const plain = Buffer.from(`${password}\0`, 'utf8');
  if (plain.length > TICKET_SIZE - 42) {
    // OAEP with SHA-1 leaves 128 - 2*20 - 2 bytes
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's SPICE password is too long for SPICE.",
      `SPICE password of ${plain.length - 1} bytes`,
    );
  }
  const ticket = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, plain);
  if (ticket.length !== TICKET_SIZE) {
    throw new ProxyError(
      CloseCode.protocolError,
      "The desktop's display sent an unexpected SPICE key.",
      `ticket of ${ticket.length} bytes`,
    );
  }
  return ticket;
}
