// VNC authentication (RFB security type 2): the 16-byte challenge encrypted with DES under the
// password's first 8 bytes, each byte's bits reversed (RFC 6143 §7.2.2 and its errata).
// No maintained npm package does this one step, and it is a few lines over node:crypto.
import { createCipheriv } from 'node:crypto';

function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/** The response to a VNC authentication challenge. */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  if (challenge.length !== 16) throw new Error('VNC challenge must be 16 bytes');
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) key[i] = reverseBits(key[i]!);
  // OpenSSL 3 moved single DES to its legacy provider; triple DES with three equal keys
  // (encrypt-decrypt-encrypt) is exactly single DES and stays in the default provider.
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}
