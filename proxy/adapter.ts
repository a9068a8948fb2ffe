// The interface every display protocol implements, like noVNC's decoders: the proxy server
// does what is common (origin, token, inventory, relay, limits); an adapter does only its
// protocol's handshake. A fourth protocol is one new folder and one entry in the adapter list.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Desktop, DisplayEndpoint, Protocol } from '../inventory/desktop.js';
import type { Inbox } from './inbox.js';
import type { ClientFilter, Farewell } from './relay.js';
import type { DisplayTokenClaims } from './token.js';
import type { TrafficKind } from './traffic-classes.js';

/** The browser's side during the handshake. */
export interface ClientEnd {
  readonly inbox: Inbox;
  send(data: Buffer): void;
}

/** The display's side: a connected TCP socket to the endpoint the inventory named. */
export interface DisplayEnd {
  readonly socket: Socket;
  readonly inbox: Inbox;
  readonly endpoint: DisplayEndpoint;
  readonly desktop: Desktop;
  send(data: Buffer): void;
  /** Stops feeding the inbox: the relay reads the socket from now on. */
  release(): void;
}

export interface ConnectionContext {
  readonly clientIp: string;
  /** The `token` query parameter of the upgrade request, if any. */
  readonly queryToken: string | undefined;
  readonly client: ClientEnd;
  readonly log: Logger;
  /** Verifies a token for this adapter's protocol (signature, expiry, IP). Throws ProxyError. */
  authenticate(token: string | undefined, options?: { ignoreExpiration?: boolean }): DisplayTokenClaims;
  /**
   * Says what kind of traffic this connection carries (set by the proxy from the protocol;
   * SPICE refines it per channel once its link message is read): both legs are marked for it.
   */
  classify(kind: TrafficKind): void;
  /**
   * Starts TLS with the display mid-handshake (VeNCrypt) and checks its certificate against the
   * display CA; resolves with the display to use from then on. Throws ProxyError.
   */
  secure(display: DisplayEnd): Promise<DisplayEnd>;
  /** Marks a token used; a second claim of the same token throws ProxyError. */
  claim(claims: DisplayTokenClaims): void;
  /**
   * Looks the desktop up in the inventory again (it must still exist, run, offer this protocol
   * and admit the token's user) and connects to its display. Throws ProxyError.
   */
  openDisplay(claims: DisplayTokenClaims): Promise<DisplayEnd>;
}

export interface Handshake {
  display: DisplayEnd;
  claims: DisplayTokenClaims;
  /** Connections sharing a key form one user-visible session (SPICE: all channels of one token). */
  sessionKey: string;
  /** When a primary connection ends, every connection of its session ends (SPICE's main channel). */
  primary?: boolean;
  /** Inspects browser-to-display bytes after the handshake (view-only). */
  filter?: ClientFilter;
  /** What the display must receive, and how long it stays open, before the proxy closes it. */
  farewell?: () => Farewell | undefined;
  /** Called once when this connection ends. */
  onEnd?: () => void;
}

export interface ProtocolAdapter {
  readonly protocol: Protocol;
  /** WebSocket path, e.g. `/ws/vnc`. */
  readonly path: string;
  /** The WebSocket subprotocol to answer with, when the client asks for it. */
  readonly subprotocol?: string;
  /**
   * Authenticates the browser, opens the display and performs both handshakes, so that what
   * follows can be relayed byte for byte. Throws ProxyError with a reason for the user.
   */
  handshake(ctx: ConnectionContext): Promise<Handshake>;
}
