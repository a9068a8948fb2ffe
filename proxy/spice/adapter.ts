// SPICE: one WebSocket per SPICE channel, all with the same token. The first must be the main
// channel (which uses up the token); the rest join the session the server assigned to it.
// The proxy replaces the browser's encrypted ticket with the real password, encrypted under
// the server's key, so the browser never holds the password.
import type { AdmittedToken, ConnectionContext, DisplayEnd, Handshake, ProtocolAdapter } from '../adapter.js';
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import type { Inbox } from '../inbox.js';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  LINK_HEADER_SIZE,
  TICKET_SIZE,
  hasCap,
  linkErrorText,
  parseLinkHeader,
  parseLinkMess,
  parseLinkReply,
  type LinkMess,
} from './link.js';
import { SpiceClientStream } from './client-messages.js';
import { DisplayInitWatch } from './display-init.js';
import { SpiceSessions, type SpiceSessionStore } from './sessions.js';
import { encryptTicket } from './ticket.js';
import { spiceTrafficKind } from './channel-kinds.js';
import { spice } from './descriptor.js';

const TIMEOUT_MS = 10_000;
const MSG_MAIN_INIT = 103;
const MAX_FIRST_MESSAGE = 64 * 1024;

async function readLink(inbox: Inbox, who: string): Promise<{ raw: Buffer; body: Buffer }> {
  const header = await inbox.read(LINK_HEADER_SIZE, TIMEOUT_MS);
  const { size } = parseLinkHeader(header, who);
  const body = await inbox.read(size, TIMEOUT_MS);
  return { raw: Buffer.concat([header, body]), body };
}

export class SpiceAdapter implements ProtocolAdapter {
  readonly descriptor = spice;
  /** @param sessions where SPICE sessions are bound: this process, or shared by every node */
  constructor(readonly sessions: SpiceSessionStore = new SpiceSessions()) {}

  async handshake(ctx: ConnectionContext): Promise<Handshake> {
    const link = await readLink(ctx.client.inbox, 'The browser');
    const mess = parseLinkMess(link.body, 'The browser');
    const main = mess.channelType === ChannelType.main;
    ctx.classify(spiceTrafficKind(mess.channelType));

    // A later channel may arrive after the token's expiry; it is admitted only into the live
    // session that an unexpired token opened, checked below.
    const verified = ctx.authenticate(ctx.queryToken, { ignoreExpiration: !main });
    const { claims } = verified;
    let token: AdmittedToken;
    if (main) {
      if (mess.connectionId !== 0) {
        throw new ProxyError(
          CloseCode.protocolError,
          'The viewer tried to resume a SPICE session the proxy does not know.',
          `main channel with connection id ${mess.connectionId}`,
        );
      }
      // Uses up the token: a second main channel with it is a replay.
      token = await ctx.claim(verified, { joinable: true });
      await this.sessions.begin(claims.jti);
    } else {
      if (!(await this.sessions.isLive(claims.jti))) {
        throw new ProxyError(
          CloseCode.badToken,
          'A SPICE channel arrived without its session. Open the desktop again from your list.',
          `SPICE channel type ${mess.channelType} before or after its main channel`,
        );
      }
      token = await ctx.join(verified);
      const sessionId = await this.sessions.sessionId(claims.jti, TIMEOUT_MS);
      if (mess.connectionId !== sessionId) {
        throw new ProxyError(
          CloseCode.forbidden,
          'This SPICE channel belongs to another session.',
          `SPICE channel connection id ${mess.connectionId}, session has ${sessionId}`,
        );
      }
    }
    const channelKey = `${mess.channelType}:${mess.channelId}`;
    if (!(await this.sessions.addChannel(claims.jti, channelKey))) {
      throw new ProxyError(
        CloseCode.protocolError,
        'The viewer opened the same SPICE channel twice.',
        `duplicate SPICE channel ${channelKey}`,
      );
    }

    let display: DisplayEnd;
    let mini: boolean;
    try {
      display = await ctx.openDisplay(token);
      mini = await this.#link(ctx, display, link.raw, mess, main ? claims.jti : undefined);
    } catch (error) {
      await this.sessions.removeChannel(claims.jti, channelKey).catch(() => {});
      if (main) await this.sessions.end(claims.jti).catch(() => {});
      throw error;
    }
    // View-only is enforced here, per channel, whatever the browser's client does.
    const viewOnly = claims.viewOnly ? new SpiceClientStream(mess.channelType, mini) : undefined;
    const init = mess.channelType === ChannelType.display && mini ? new DisplayInitWatch() : undefined;
    const filter =
      init || viewOnly
        ? (chunk: Buffer) => {
            if (init && !init.seen) init.observe(chunk);
            return viewOnly ? viewOnly.filter(chunk) : chunk;
          }
        : undefined;
    return {
      display,
      token,
      primary: main,
      ...(filter ? { filter } : {}),
      ...(init ? { farewell: () => init.farewell() } : {}),
      onEnd: () => {
        if (viewOnly?.dropped)
          ctx.log.info({ user: claims.sub, channel: mess.channelType, dropped: viewOnly.dropped }, 'view-only input dropped');
        // Best effort: a binding left behind in shared state expires by itself.
        void this.sessions.removeChannel(claims.jti, channelKey).catch(() => {});
        if (main) void this.sessions.end(claims.jti).catch(() => {});
      },
    };
  }

  /** Links one channel with the injected ticket; returns whether both sides use the mini header. */
  async #link(
    ctx: ConnectionContext,
    display: DisplayEnd,
    linkRaw: Buffer,
    mess: LinkMess,
    /** The token of a main channel, whose session id is recorded before the viewer sees it. */
    mainToken: string | undefined,
  ): Promise<boolean> {
    display.send(linkRaw);
    const reply = await readLink(display.inbox, 'The display');
    const parsed = parseLinkReply(reply.body, 'The display');
    ctx.client.send(reply.raw);
    if (parsed.error !== 0) {
      throw new ProxyError(
        CloseCode.displayUnreachable,
        `The desktop's SPICE display refused the connection (${linkErrorText(parsed.error)}).`,
        `SPICE link error ${parsed.error}`,
      );
    }

    // With AUTH_SELECTION on both sides the client names its mechanism before the ticket.
    const selection = hasCap(mess.commonCaps, CommonCap.authSelection) && hasCap(parsed.commonCaps, CommonCap.authSelection);
    const auth = await ctx.client.inbox.read(selection ? 4 + TICKET_SIZE : TICKET_SIZE, TIMEOUT_MS);
    if (selection && auth.readUInt32LE(0) !== AuthMechanism.spice) {
      throw new ProxyError(
        CloseCode.protocolError,
        'The viewer asked for a SPICE authentication Porthole does not support.',
        `SPICE auth mechanism ${auth.readUInt32LE(0)}`,
      );
    }
    const ticket = encryptTicket(parsed.publicKey, display.endpoint.password ?? '');
    display.send(selection ? Buffer.concat([auth.subarray(0, 4), ticket]) : ticket);

    const result = await display.inbox.read(4, TIMEOUT_MS);
    ctx.client.send(result);
    const code = result.readUInt32LE(0);
    if (code !== 0) {
      throw new ProxyError(
        CloseCode.displayAuthFailed,
        "The desktop's SPICE display refused Porthole's credentials. Ask your administrator to check the desktop's display password.",
        `SPICE authentication failed: ${linkErrorText(code)}`,
      );
    }
    const mini = hasCap(mess.commonCaps, CommonCap.miniHeader) && hasCap(parsed.commonCaps, CommonCap.miniHeader);
    if (mainToken !== undefined) {
      const init = await this.#readMainInit(display, mini);
      // Recorded before the viewer sees it: its next channels, on any node, find it.
      await this.sessions.setSessionId(mainToken, init.sessionId);
      ctx.client.send(init.message);
    }
    return mini;
  }

  /** Reads the main channel's first message, SPICE_MSG_MAIN_INIT, for its session id. */
  async #readMainInit(display: DisplayEnd, mini: boolean): Promise<{ sessionId: number; message: Buffer }> {
    const headerSize = mini ? 6 : 18;
    const header = await display.inbox.read(headerSize, TIMEOUT_MS);
    const type = header.readUInt16LE(mini ? 0 : 8);
    const size = header.readUInt32LE(mini ? 2 : 10);
    if (type !== MSG_MAIN_INIT || size < 4 || size > MAX_FIRST_MESSAGE) {
      throw new ProxyError(
        CloseCode.protocolError,
        "The desktop's SPICE display did not start the session as expected.",
        `main channel's first message: type ${type}, ${size} bytes`,
      );
    }
    const body = await display.inbox.read(size, TIMEOUT_MS);
    return { sessionId: body.readUInt32LE(0), message: Buffer.concat([header, body]) };
  }
}
