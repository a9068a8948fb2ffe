// The interface every display protocol implements, like noVNC's decoders: the proxy does what is
// common (origin, token, inventory, relay, limits, marking); an adapter does only its protocol's
// handshake. The order that keeps users safe is in the types: a token is verified, then claimed
// (single use) or joined to the live session its claim opened, and only such a token opens a
// display. Sockets the context opens are its own: the proxy closes them when a handshake fails.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Desktop, DisplayEndpoint } from '../contract/desktop.js';
import type { DisplayTokenClaims } from '../contract/display-token.js';
import type { ProtocolDescriptor } from '../contract/protocol.js';
import type { Inbox } from './inbox.js';
import type { TrafficKind } from './qos/traffic-classes.js';
import type { ClientFilter, Farewell } from './relay.js';
import type { CertificateTrust } from './tls/certificate-trust.js';

// Brands without a runtime value: only the proxy's ConnectionContext makes these (display-proxy.ts).
declare const verified: unique symbol;
declare const admitted: unique symbol;

/** A token whose signature, expiry, protocol, client address and browser were checked. */
export interface VerifiedToken {
  readonly claims: DisplayTokenClaims;
  readonly [verified]: true;
}

/**
 * A token that may open a display: claimed for single use (a session's first connection), or
 * joined to the live session that its claim opened (SPICE's further channels).
 */
export interface AdmittedToken {
  readonly claims: DisplayTokenClaims;
  readonly [admitted]: 'claimed' | 'joined';
}

/** The browser's side during the handshake. */
export interface ClientEnd {
  readonly inbox: Inbox;
  send(data: Buffer): void;
}

/** The display's side: a connected socket to the endpoint the inventory named. */
export interface DisplayEnd {
  readonly socket: Socket;
  readonly inbox: Inbox;
  readonly endpoint: DisplayEndpoint;
  readonly desktop: Desktop;
  send(data: Buffer): void;
  /** Stops feeding the inbox: the relay reads the socket from now on. */
  release(): void;
}

/** A display end after TLS, its certificate checked. */
export interface SecureDisplayEnd extends DisplayEnd {
  readonly socket: TLSSocket;
}

export interface ConnectionContext {
  readonly clientIp: string;
  /** The `token` query parameter of the upgrade request, if any. */
  readonly queryToken: string | undefined;
  readonly client: ClientEnd;
  readonly log: Logger;
  /** Verifies a token for this adapter's protocol (signature, expiry, IP, browser). Throws ProxyError. */
  authenticate(token: string | undefined, options?: { ignoreExpiration?: boolean }): VerifiedToken;
  /**
   * Uses the token up; a second claim of it anywhere throws ProxyError. `joinable`: further
   * connections with the same token may join this one's session while it lives.
   */
  claim(token: VerifiedToken, options?: { joinable?: boolean }): Promise<AdmittedToken>;
  /** Admits a further connection into the live session a joinable claim of this token opened. Throws ProxyError. */
  join(token: VerifiedToken): Promise<AdmittedToken>;
  /**
   * Says what kind of traffic this connection carries (set from the descriptor first; SPICE
   * refines it per channel once its link message is read): both legs are marked for it.
   */
  classify(kind: TrafficKind): void;
  /**
   * Looks the desktop up in the inventory again (it must still exist, run, offer this protocol
   * and admit the token's user) and connects to its display. Throws ProxyError.
   */
  openDisplay(token: AdmittedToken): Promise<DisplayEnd>;
  /**
   * Starts TLS with the display mid-handshake (VeNCrypt, RDP after X.224) and checks its
   * certificate against the adapter's trust, or else the display CA. Throws ProxyError.
   */
  secure(display: DisplayEnd): Promise<SecureDisplayEnd>;
}

export interface Handshake {
  display: DisplayEnd;
  token: AdmittedToken;
  /** Connections sharing a key form one user-visible session; the token's id unless said otherwise. */
  sessionKey?: string;
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
  readonly descriptor: ProtocolDescriptor;
  /** How the display's TLS certificate is trusted, where the protocol has its own policy (RDP). */
  readonly trust?: CertificateTrust;
  /**
   * Authenticates the browser, opens the display and performs both handshakes, so that what
   * follows can be relayed byte for byte. Throws ProxyError with a reason for the user.
   */
  handshake(ctx: ConnectionContext): Promise<Handshake>;
}
