// RDP through RDCleanPath, as IronRDP's web client speaks it: one request PDU carries the token
// and the client's X.224 Connection Request; the proxy connects to the desktop the inventory
// names, forwards the request, reads the confirm, runs TLS with the RDP server itself (checking
// its certificate, which the browser cannot), answers with the confirm and the server's chain,
// and then relays the TLS plaintext. Every failure is also answered with an RDCleanPath error
// PDU, so that the web client can say what went wrong.
import { isIP } from 'node:net';
import { endpointAddress } from '../../contract/desktop.js';
import type { ConnectionContext, Handshake, ProtocolAdapter } from '../adapter.js';
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import { certificateChain, type CertificateTrust } from '../tls/certificate-trust.js';
import { rdp } from './descriptor.js';
import {
  decodeRequest,
  encodeFailure,
  encodeNegotiationFailure,
  encodeResponse,
  pduLength,
  RDCleanPathError,
  type RDCleanPathFailure,
} from './rdcleanpath.js';
import {
  checkConnectionRequest,
  confirmLength,
  negotiationFailureText,
  parseConnectionConfirm,
  SecurityProtocol,
  TPKT_HEADER_SIZE,
  X224Error,
} from './x224.js';

const TIMEOUT_MS = 10_000;
/** Failures already answered with their own PDU (the server's negotiation refusal). */
const answered = new WeakSet<Error>();
const DEFAULT_RDP_PORT = 3389;

/** Windows Sockets codes for the socket errors a connection can meet. */
const WSA: Record<string, number> = {
  ECONNREFUSED: 10061,
  ETIMEDOUT: 10060,
  EHOSTUNREACH: 10065,
  ENETUNREACH: 10051,
  ECONNRESET: 10054,
  ECONNABORTED: 10053,
  EHOSTDOWN: 10064,
  ENOTFOUND: 11001,
  EAI_AGAIN: 11002,
};

/** How a failure is told to the web client, in RDCleanPath's terms. */
export function rdcleanpathFailure(error: ProxyError): RDCleanPathFailure {
  if (error.transport.tlsAlert !== undefined) return { tlsAlert: error.transport.tlsAlert };
  const wsa = error.transport.errno ? WSA[error.transport.errno] : undefined;
  if (wsa) return { wsaLastError: wsa };
  switch (error.code) {
    case CloseCode.badToken:
      return { httpStatus: 401 };
    case CloseCode.forbidden:
      return { httpStatus: 403 };
    case CloseCode.unknownDesktop:
      return { httpStatus: 404 };
    case CloseCode.unavailable:
      return { httpStatus: 409 };
    case CloseCode.protocolError:
      return { httpStatus: 400 };
    case CloseCode.displayUnreachable:
      return { httpStatus: 502 };
    default:
      return { httpStatus: 500 };
  }
}

/** `host:port` with the default port, IPv6 in brackets, host names in lower case: what is compared. */
export function normalizeDestination(destination: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(destination.trim());
  if (!match) return undefined;
  const host = (match[1] ?? match[2]!).toLowerCase();
  const port = match[3] ? Number(match[3]) : DEFAULT_RDP_PORT;
  if (port < 1 || port > 65535) return undefined;
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function protocolError(error: Error): ProxyError {
  return new ProxyError(
    CloseCode.protocolError,
    error instanceof X224Error && error.message.startsWith('The RDP server')
      ? `${error.message}.`
      : `The RDP client sent something Porthole cannot accept: ${error.message}.`,
    error.message,
  );
}

export class RdpAdapter implements ProtocolAdapter {
  readonly descriptor = rdp;

  constructor(readonly trust: CertificateTrust) {}

  async handshake(ctx: ConnectionContext): Promise<Handshake> {
    try {
      return await this.#handshake(ctx);
    } catch (error) {
      const failure =
        error instanceof ProxyError
          ? error
          : error instanceof RDCleanPathError || error instanceof X224Error
            ? protocolError(error)
            : new ProxyError(
                CloseCode.protocolError,
                'The RDP connection failed inside the proxy.',
                (error as Error)?.stack ?? String(error),
              );
      // The web client reads this PDU; the WebSocket's close reason that follows says it in words.
      if (!answered.has(failure)) ctx.client.send(encodeFailure(rdcleanpathFailure(failure)));
      throw failure;
    }
  }

  async #readRequest(ctx: ConnectionContext): Promise<Buffer> {
    const inbox = ctx.client.inbox;
    let header = await inbox.read(2, TIMEOUT_MS);
    let total = pduLength(header);
    if (total === undefined) {
      // A long-form length: its octets follow.
      header = Buffer.concat([header, await inbox.read(header[1]! & 0x7f, TIMEOUT_MS)]);
      total = pduLength(header)!;
    }
    const rest = await inbox.read(total - header.length, TIMEOUT_MS);
    return Buffer.concat([header, rest]);
  }

  async #handshake(ctx: ConnectionContext): Promise<Handshake> {
    const request = decodeRequest(await this.#readRequest(ctx));
    checkConnectionRequest(request.x224);
    if (request.preconnectionBlob !== undefined) {
      throw new ProxyError(
        CloseCode.protocolError,
        'Porthole does not forward RDP preconnection blobs (Hyper-V consoles); connect without one.',
        'RDCleanPath request with a preconnection blob',
      );
    }
    const verified = ctx.authenticate(request.proxyAuth);
    const { claims } = verified;
    if (claims.viewOnly) {
      throw new ProxyError(
        CloseCode.forbidden,
        'Watching without control is not available over RDP; use VNC for that.',
        'view-only RDP token',
      );
    }
    const token = await ctx.claim(verified);
    const wanted = normalizeDestination(request.destination);
    const display = await ctx.openDisplay(token);
    const target = normalizeDestination(endpointAddress(display.endpoint));
    if (wanted !== target) {
      throw new ProxyError(
        CloseCode.forbidden,
        'The RDP client asked for another machine than this desktop. Open the desktop again from your list.',
        `RDCleanPath destination ${JSON.stringify(request.destination)} is not the inventory's ${target ?? '?'} for ${claims.desktop}`,
      );
    }
    display.send(request.x224);
    const header = await display.inbox.read(TPKT_HEADER_SIZE, TIMEOUT_MS);
    const confirm = Buffer.concat([header, await display.inbox.read(confirmLength(header) - TPKT_HEADER_SIZE, TIMEOUT_MS)]);
    const answer = parseConnectionConfirm(confirm);
    if (answer.kind === 'refused') {
      // The web client decodes the server's own refusal from the confirm.
      ctx.client.send(encodeNegotiationFailure(confirm));
      const refusal = new ProxyError(
        CloseCode.displayAuthFailed,
        `The desktop refused the connection: ${negotiationFailureText(answer.failureCode)}.`,
        `RDP negotiation failure ${answer.failureCode}`,
      );
      answered.add(refusal);
      throw refusal;
    }
    if (answer.selectedProtocol === SecurityProtocol.rdp) {
      throw new ProxyError(
        CloseCode.displayAuthFailed,
        "The desktop's RDP server offers no TLS, only standard RDP security. Ask your administrator to enable TLS or NLA.",
        'RDP server selected standard RDP security',
      );
    }
    const secure = await ctx.secure(display);
    if (ctx.client.inbox.length > 0) {
      throw new ProxyError(
        CloseCode.protocolError,
        'The RDP client sent data before Porthole answered its request.',
        `${ctx.client.inbox.length} bytes after the RDCleanPath request`,
      );
    }
    const address = secure.socket.remoteAddress ?? display.endpoint.host;
    ctx.client.send(encodeResponse(confirm, certificateChain(secure.socket), address));
    ctx.log.info(
      { user: claims.sub, desktop: claims.desktop, security: answer.selectedProtocol, trust: this.trust.name },
      'RDP server verified',
    );
    return { display: secure, token };
  }
}
