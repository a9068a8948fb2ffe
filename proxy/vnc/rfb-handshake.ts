// The RFB (VNC) security handshake, both halves, as Nova's security proxy does it: the proxy
// authenticates to the display with the password from the inventory (over VeNCrypt's X.509 TLS
// when the display asks for it, with the display's certificate checked), and offers the browser
// security type None, so the browser never holds the display password. RFC 6143 §7.1-7.2;
// VeNCrypt as QEMU and libvirt implement it.
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import type { Inbox } from '../inbox.js';
import { vncAuthResponse } from './vnc-auth.js';

export const SecurityType = { invalid: 0, none: 1, vncAuth: 2, veNCrypt: 19 } as const;

/** VeNCrypt subtypes with X.509 certificates (the TLS-only ones are anonymous and refused). */
const VeNCrypt = { x509None: 260, x509Vnc: 261 } as const;

const VERSION = /^RFB (\d{3})\.(\d{3})\n$/;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Minor version the proxy speaks: 3, 7 or 8 (3.8 is what QEMU and noVNC use). */
export type RfbMinor = 3 | 7 | 8;

export function parseVersion(bytes: Buffer, who: string): RfbMinor {
  const match = VERSION.exec(bytes.toString('latin1'));
  if (!match || match[1] !== '003') {
    throw new ProxyError(
      CloseCode.protocolError,
      `${who} does not speak VNC (RFB 3.x).`,
      `${who} sent version ${JSON.stringify(bytes.toString('latin1'))}`,
    );
  }
  const minor = Number(match[2]);
  // RFC 6143 §7.1.1: unknown minor versions above 8 are treated as 3.8, 4-6 as 3.3 (Apple's 3.889 too).
  if (minor >= 8) return 8;
  if (minor === 7) return 7;
  return 3;
}

export function versionBytes(minor: RfbMinor): Buffer {
  return Buffer.from(`RFB 003.00${minor}\n`, 'latin1');
}

interface Peer {
  inbox: Inbox;
  send(data: Buffer): void;
}

async function readReason(inbox: Inbox): Promise<string> {
  const length = (await inbox.read(4, HANDSHAKE_TIMEOUT_MS)).readUInt32BE(0);
  if (length > 4096) return '(reason too long)';
  return (await inbox.read(length, HANDSHAKE_TIMEOUT_MS)).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
}

/**
 * VeNCrypt (security type 19) up to its TLS: version 0.2, an X.509 subtype, the server's
 * acknowledgement, then TLS through `secure`, which checks the display's certificate.
 * Returns the display over TLS and whether VNC authentication follows.
 */
async function veNCrypt<T extends Peer>(
  display: T,
  password: string | undefined,
  secure: (d: T) => Promise<T>,
): Promise<{ display: T; vncAuth: boolean }> {
  const version = await display.inbox.read(2, HANDSHAKE_TIMEOUT_MS);
  if (version[0] !== 0 || version[1]! < 2) {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display speaks a VeNCrypt version Porthole does not support.",
      `VeNCrypt version ${version[0]}.${version[1]}`,
    );
  }
  display.send(Buffer.from([0, 2]));
  if ((await display.inbox.read(1, HANDSHAKE_TIMEOUT_MS))[0] !== 0) {
    throw new ProxyError(CloseCode.displayAuthFailed, "The desktop's display refused VeNCrypt 0.2.", 'VeNCrypt version refused');
  }
  const count = (await display.inbox.read(1, HANDSHAKE_TIMEOUT_MS))[0]!;
  const raw = count === 0 ? Buffer.alloc(0) : await display.inbox.read(count * 4, HANDSHAKE_TIMEOUT_MS);
  const subtypes = Array.from({ length: count }, (_v, i) => raw.readUInt32BE(i * 4));
  const chosen =
    password !== undefined && password !== '' && subtypes.includes(VeNCrypt.x509Vnc)
      ? VeNCrypt.x509Vnc
      : subtypes.includes(VeNCrypt.x509None)
        ? VeNCrypt.x509None
        : subtypes.includes(VeNCrypt.x509Vnc)
          ? VeNCrypt.x509Vnc
          : undefined;
  if (chosen === undefined) {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display offers no certificate-based TLS (VeNCrypt X.509). Ask your administrator.",
      `VeNCrypt subtypes ${subtypes.join(',')}`,
    );
  }
  if (chosen === VeNCrypt.x509Vnc && (password === undefined || password === '')) {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display needs a password that Porthole does not have. Ask your administrator to check the desktop's display settings.",
      'VeNCrypt X509Vnc without a password in the domain XML',
    );
  }
  const subtype = Buffer.alloc(4);
  subtype.writeUInt32BE(chosen, 0);
  display.send(subtype);
  if ((await display.inbox.read(1, HANDSHAKE_TIMEOUT_MS))[0] !== 1) {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display refused its own TLS subtype.",
      `VeNCrypt subtype ${chosen} not acknowledged`,
    );
  }
  return { display: await secure(display), vncAuth: chosen === VeNCrypt.x509Vnc };
}

/**
 * Authenticates to the VNC display. Afterwards the display waits for ClientInit.
 * @param password the display's password from the inventory; undefined when it has none
 * @param secure starts TLS with the display and checks its certificate (VeNCrypt)
 * @returns the display to relay: the same one, or the same connection over TLS
 */
export async function authenticateToDisplay<T extends Peer>(
  display: T,
  password: string | undefined,
  secure?: (d: T) => Promise<T>,
): Promise<T> {
  const minor = parseVersion(await display.inbox.read(12, HANDSHAKE_TIMEOUT_MS), 'The display');
  display.send(versionBytes(minor));

  let offered: number[];
  if (minor === 3) {
    offered = [(await display.inbox.read(4, HANDSHAKE_TIMEOUT_MS)).readUInt32BE(0)];
  } else {
    const count = (await display.inbox.read(1, HANDSHAKE_TIMEOUT_MS))[0]!;
    offered = count === 0 ? [] : [...(await display.inbox.read(count, HANDSHAKE_TIMEOUT_MS))];
  }
  if (offered.length === 0 || offered[0] === SecurityType.invalid) {
    const reason = await readReason(display.inbox);
    throw new ProxyError(CloseCode.displayUnreachable, "The desktop's display refused the connection.", `VNC display refused: ${reason}`);
  }

  let chosen: number;
  // A display that offers TLS is spoken to over TLS (the hypervisor asked for it).
  if (secure && minor !== 3 && offered.includes(SecurityType.veNCrypt)) chosen = SecurityType.veNCrypt;
  else if (password !== undefined && password !== '' && offered.includes(SecurityType.vncAuth)) chosen = SecurityType.vncAuth;
  else if (offered.includes(SecurityType.none)) chosen = SecurityType.none;
  else if (offered.includes(SecurityType.vncAuth)) {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display needs a password that Porthole does not have. Ask your administrator to check the desktop's display settings.",
      'VNC display asks for VNC authentication but the domain XML has no password',
    );
  } else {
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display uses a security type Porthole does not support.",
      `VNC display offered security types ${offered.join(',')}`,
    );
  }
  if (minor !== 3) display.send(Buffer.from([chosen]));

  let vncAuth = chosen === SecurityType.vncAuth;
  if (chosen === SecurityType.veNCrypt) ({ display, vncAuth } = await veNCrypt(display, password, secure!));
  if (vncAuth) {
    const challenge = await display.inbox.read(16, HANDSHAKE_TIMEOUT_MS);
    display.send(vncAuthResponse(password!, challenge));
  }
  // RFB 3.3 and 3.7 send no SecurityResult for None.
  if (chosen === SecurityType.none && minor !== 8) return display;
  const result = (await display.inbox.read(4, HANDSHAKE_TIMEOUT_MS)).readUInt32BE(0);
  if (result !== 0) {
    const reason = minor === 8 ? await readReason(display.inbox) : 'authentication failed';
    throw new ProxyError(
      CloseCode.displayAuthFailed,
      "The desktop's display refused Porthole's credentials. Ask your administrator to check the desktop's display password.",
      `VNC authentication failed: ${reason}`,
    );
  }
  return display;
}

/**
 * Greets the browser as a VNC server that asks for no authentication. Afterwards the browser
 * sends ClientInit, which the relay forwards.
 */
export async function acceptClient(client: Peer): Promise<void> {
  client.send(versionBytes(8));
  const minor = parseVersion(await client.inbox.read(12, HANDSHAKE_TIMEOUT_MS), 'The browser');
  if (minor === 3) {
    client.send(Buffer.from([0, 0, 0, SecurityType.none]));
    return;
  }
  client.send(Buffer.from([1, SecurityType.none]));
  const choice = (await client.inbox.read(1, HANDSHAKE_TIMEOUT_MS))[0];
  if (choice !== SecurityType.none) {
    throw new ProxyError(
      CloseCode.protocolError,
      'The viewer chose a security type the proxy did not offer.',
      `browser chose security type ${choice}`,
    );
  }
  if (minor === 8) client.send(Buffer.alloc(4)); // SecurityResult: OK
}
