// The WebSocket side of the proxy: accepts upgrades on the protocol paths, checks the Origin,
// hands the connection to its protocol's adapter for the handshake, then relays it.
import type { IncomingMessage } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { mayOpen, type Desktop, type DisplayEndpoint, type Protocol } from '../inventory/desktop.js';
import type { ConnectionContext, DisplayEnd, ProtocolAdapter } from './adapter.js';
import type { CertificateTrust } from './certificate-trust.js';
import { CloseCode, ProxyError, closeWebSocket } from './close.js';
import { secureDisplay } from './display-tls.js';
import { Inbox } from './inbox.js';
import { LiveSessions } from './live-sessions.js';
import type { ProxyMetrics } from './metrics.js';
import { Relay, type RelayLimits } from './relay.js';
import { ReplayGuard } from './replay-guard.js';
import { normalizeIp, type TokenVerifier } from './token-verifier.js';
import { BROWSER_SESSION_COOKIE, type DisplayTokenClaims } from './token.js';
import type { TrafficMarker } from './traffic-class.js';
import type { TrafficClasses, TrafficKind } from './traffic-classes.js';

export interface ProxyLimits extends RelayLimits {
  /** Most bytes either side may send before its handshake completes. */
  handshakeBytes: number;
  /** Largest WebSocket message from the browser. */
  maxPayload: number;
  /** How long the display gets to accept the TCP connection. */
  connectTimeoutMs: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  idleTimeoutMs: 30 * 60_000,
  maxDurationMs: 12 * 3600_000,
  highWaterMark: 1024 * 1024,
  handshakeBytes: 64 * 1024,
  maxPayload: 4 * 1024 * 1024,
  connectTimeoutMs: 5000,
};

/** Where targets come from: the inventory, looked up again for every connection. */
export interface TargetResolver {
  get(id: string): Promise<Desktop | undefined>;
}

export interface DisplayProxyOptions {
  verifier: TokenVerifier;
  targets: TargetResolver;
  /** Origins allowed to open WebSockets (cross-site WebSocket hijacking protection). */
  origins: ReadonlySet<string>;
  adapters: ProtocolAdapter[];
  log: Logger;
  limits?: Partial<ProxyLimits>;
  metrics?: ProxyMetrics;
  /**
   * A last say of the control plane on a verified token, when it runs in the same process:
   * the reason to refuse it (e.g. its shadowing has ended since it was issued), or undefined.
   */
  admit?: (claims: DisplayTokenClaims) => string | undefined;
  /** 802.1p/DSCP marking of both legs; absent when turned off. */
  traffic?: { marker: TrafficMarker; classes: TrafficClasses };
  /**
   * The CA (and client certificate) for SPICE and VNC displays that speak TLS (SPICE's tlsPort,
   * VeNCrypt); absent when none is configured, and then such displays are refused, never
   * reached unverified.
   */
  displayTrust?: CertificateTrust;
}

const PROTOCOL_NAMES: Record<Protocol, string> = { spice: 'SPICE', vnc: 'VNC', rdp: 'RDP' };

/** One cookie's value from a Cookie header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function refuse(socket: Duplex, status: number, text: string): void {
  const body = JSON.stringify({ error: text });
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export class DisplayProxy {
  readonly sessions = new LiveSessions();
  readonly limits: ProxyLimits;
  readonly #options: DisplayProxyOptions;
  readonly #adapters: Map<string, ProtocolAdapter>;
  readonly #replay = new ReplayGuard();
  readonly #wss: WebSocketServer;

  constructor(options: DisplayProxyOptions) {
    this.#options = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#adapters = new Map(options.adapters.map((a) => [a.path, a]));
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false, // display data is already compressed; deflate costs CPU and memory
      maxPayload: this.limits.maxPayload,
      clientTracking: false,
      handleProtocols: (offered, req) => {
        const adapter = this.#adapterFor(req.url);
        return adapter?.subprotocol && offered.has(adapter.subprotocol) ? adapter.subprotocol : false;
      },
    });
  }

  #adapterFor(url: string | undefined): ProtocolAdapter | undefined {
    const path = (url ?? '').split('?', 1)[0]!;
    return this.#adapters.get(path);
  }

  /** Takes over an HTTP upgrade request (the http server's 'upgrade' event). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const adapter = this.#adapterFor(req.url);
    if (!adapter) return refuse(socket, 404, 'No such WebSocket endpoint.');
    const origin = req.headers.origin;
    if (!origin || !this.#options.origins.has(origin)) {
      this.#options.log.warn({ origin: origin ?? null, path: adapter.path, ip: normalizeIp(req.socket.remoteAddress) }, 'WebSocket refused: origin not allowed');
      return refuse(socket, 403, 'This page is not allowed to open desktop connections (origin not allowed).');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, req, adapter));
  }

  #serve(ws: WebSocket, req: IncomingMessage, adapter: ProtocolAdapter): void {
    const { log: rootLog, verifier, metrics } = this.#options;
    const clientIp = normalizeIp(req.socket.remoteAddress);
    // A repeated `token` counts as none: readers of one query string disagree on which one counts.
    const queryTokens = new URL(req.url ?? '/', 'http://proxy.invalid').searchParams.getAll('token');
    const queryToken = queryTokens.length === 1 ? queryTokens[0] : undefined;
    const browserSession = cookieValue(req.headers.cookie, BROWSER_SESSION_COOKIE);
    const log = rootLog.child({ protocol: adapter.protocol, ip: clientIp });
    const inbox = new Inbox('The browser', this.limits.handshakeBytes);
    const onMessage = (data: RawData) => inbox.push(data as Buffer);
    const onClose = () => inbox.fail(new ProxyError(CloseCode.normal, 'closed', 'the browser closed during the handshake'));
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', (error) => inbox.fail(new ProxyError(CloseCode.protocolError, 'The browser sent data that is not valid WebSocket.', error.message)));

    // What kind of traffic this is: the protocol's, until an adapter says more (SPICE channels).
    let kind: TrafficKind = adapter.protocol === 'spice' ? 'spice.main' : adapter.protocol;
    let displaySocket: Socket | undefined;
    const traffic = this.#options.traffic;
    const classify = (k: TrafficKind) => {
      kind = k;
      if (!traffic) return;
      traffic.marker.mark(req.socket, traffic.classes[k].client);
      if (displaySocket) traffic.marker.mark(displaySocket, traffic.classes[k].display);
    };
    classify(kind);

    const ctx: ConnectionContext = {
      clientIp,
      classify,
      queryToken,
      log,
      client: { inbox, send: (data) => ws.send(data, { binary: true, compress: false }) },
      authenticate: (token, options) => verifier.verify(token, adapter.protocol, clientIp, { ...options, browserSession }),
      claim: (claims) => {
        if (!this.#replay.claim(claims.jti, claims.exp)) {
          throw new ProxyError(CloseCode.badToken, 'This connection link was already used. Open the desktop again from your list.',
            `token ${claims.jti} replayed`);
        }
      },
      secure: (display) => this.#secure(display, PROTOCOL_NAMES[adapter.protocol]),
      openDisplay: async (claims) => {
        const mark = traffic ? (socket: Socket) => traffic.marker.mark(socket, traffic.classes[kind].display) : undefined;
        const display = await this.#openDisplay(claims, adapter.protocol, mark);
        displaySocket = display.socket;
        return display;
      },
    };

    adapter.handshake(ctx).then((handshake) => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      handshake.display.release();
      if (ws.readyState !== ws.OPEN) {
        handshake.display.socket.destroy();
        handshake.onEnd?.();
        return;
      }
      const relay = new Relay(ws, handshake.display.socket, this.limits, handshake.filter, handshake.farewell);
      const session = this.sessions.attach(handshake.sessionKey, handshake.claims, relay);
      const fields = { session: session.id, user: handshake.claims.sub, desktop: handshake.claims.desktop };
      metrics?.connections.inc({ protocol: adapter.protocol, result: 'ok' });
      metrics?.active.inc({ protocol: adapter.protocol });
      metrics?.track(relay, adapter.protocol, kind);
      relay.start(inbox.drain(), handshake.display.inbox.drain());
      log.info(fields, 'connection open');
      void relay.done.then((end) => {
        this.sessions.detach(session, relay);
        handshake.onEnd?.();
        if (handshake.primary) session.end(end.code, end.reason);
        metrics?.active.dec({ protocol: adapter.protocol });
        metrics?.untrack(relay);
        log.info({ ...fields, code: end.code, reason: end.detail, toClient: relay.bytesToClient, toDisplay: relay.bytesToDisplay,
          seconds: Math.round((Date.now() - relay.startedAt) / 1000) }, 'connection closed');
      });
    }, (error: unknown) => {
      const failure = error instanceof ProxyError ? error
        : new ProxyError(CloseCode.protocolError, 'The connection failed inside the proxy.', (error as Error)?.stack ?? String(error));
      metrics?.connections.inc({ protocol: adapter.protocol, result: String(failure.code) });
      log.warn({ code: failure.code }, `connection refused: ${failure.detail}`);
      closeWebSocket(ws, failure.code, failure.reason);
    });
  }

  async #openDisplay(claims: DisplayTokenClaims, protocol: Protocol, mark?: (socket: Socket) => void): Promise<DisplayEnd> {
    const name = PROTOCOL_NAMES[protocol];
    const refusal = this.#options.admit?.(claims);
    if (refusal) throw new ProxyError(CloseCode.forbidden, refusal, `token ${claims.jti} refused by the control plane: ${refusal}`);
    let desktop: Desktop | undefined;
    try {
      desktop = await this.#options.targets.get(claims.desktop);
    } catch (error) {
      throw new ProxyError(CloseCode.displayUnreachable, "Porthole could not reach the desktop's host. Try again in a minute.",
        `inventory lookup of ${claims.desktop} failed: ${(error as Error).message}`);
    }
    if (!desktop) {
      throw new ProxyError(CloseCode.unknownDesktop, 'This desktop no longer exists.', `desktop ${claims.desktop} not in the inventory`);
    }
    if (!claims.shadow && !mayOpen(desktop, { username: claims.sub, roles: claims.roles, groups: claims.groups })) {
      throw new ProxyError(CloseCode.forbidden, 'You may no longer open this desktop.', `${claims.sub} is not entitled to ${claims.desktop}`);
    }
    if (desktop.state !== 'running') {
      throw new ProxyError(CloseCode.unavailable, `The desktop is not running (it is ${desktop.state}). Start it and try again.`,
        `desktop ${claims.desktop} is ${desktop.state}`);
    }
    const endpoint = desktop.displays.find((d) => d.protocol === protocol);
    if (!endpoint) {
      throw new ProxyError(CloseCode.unavailable, `This desktop has no ${name} display.`, `desktop ${claims.desktop} has no ${protocol} display`);
    }
    // A TLS port is used whenever there is one and Porthole can verify it.
    const trust = this.#options.displayTrust;
    const useTls = endpoint.tlsPort !== undefined && (trust !== undefined || endpoint.port === undefined);
    if (useTls && !trust) {
      throw new ProxyError(CloseCode.displayUntrusted,
        `The desktop's ${name} display accepts only TLS, and Porthole has no authority to check it with. Ask your administrator.`,
        `${claims.desktop}: ${name} on TLS port ${endpoint.tlsPort} only, and PORTHOLE_DISPLAY_CA is not set`);
    }
    const socket = await this.#connect(endpoint.host, useTls ? endpoint.tlsPort! : endpoint.port!, name, mark);
    const display = this.#displayEnd(socket, endpoint, desktop, name);
    if (!useTls) return display;
    try {
      return await this.#secure(display, name);
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /** TLS with a display, its certificate checked against the display CA. */
  async #secure(display: DisplayEnd, name: string): Promise<DisplayEnd> {
    const trust = this.#options.displayTrust;
    if (!trust) {
      throw new ProxyError(CloseCode.displayUntrusted,
        `The desktop's ${name} display requires TLS, and Porthole has no authority to check it with. Ask your administrator.`,
        `${display.desktop.id}: ${name} display asks for TLS, and PORTHOLE_DISPLAY_CA is not set`);
    }
    const secure = await secureDisplay(display, name, trust.tlsOptions, this.limits.connectTimeoutMs);
    try {
      trust.check(display.desktop.id, display.endpoint.host, secure.socket, name);
    } catch (error) {
      secure.socket.destroy();
      throw error;
    }
    return secure;
  }

  #displayEnd(socket: Socket, endpoint: DisplayEndpoint, desktop: Desktop, name: string): DisplayEnd {
    const inbox = new Inbox('The display', this.limits.handshakeBytes);
    const onData = (chunk: Buffer) => inbox.push(chunk);
    const onEnd = () => inbox.fail(new ProxyError(CloseCode.displayUnreachable, `The desktop's ${name} display closed the connection during the handshake.`, 'display closed during the handshake'));
    const onError = (error: Error) => inbox.fail(new ProxyError(CloseCode.displayUnreachable, `The connection to the desktop's ${name} display failed.`, error.message));
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    return {
      socket,
      inbox,
      endpoint,
      desktop,
      send: (data) => { socket.write(data); },
      release: () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', onError);
      },
    };
  }

  /**
   * TCP to a display. `mark` classifies the socket: before the SYN leaves when the host is an
   * address (the socket is bound first, so it has a descriptor when the attempt starts), so that
   * every packet of the connection carries its priority; after connecting for a host name.
   */
  #connect(host: string, port: number, name: string, mark?: (socket: Socket) => void): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const family = isIP(host);
      const early = mark !== undefined && family !== 0;
      const socket = connect({ host, port, ...(early ? { localAddress: family === 6 ? '::' : '0.0.0.0' } : {}) });
      if (early) socket.once('connectionAttempt', () => mark(socket));
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ProxyError(CloseCode.displayUnreachable, `The desktop's ${name} display did not answer. Try again, or ask your administrator.`,
          `connect to ${host}:${port} timed out`, { errno: 'ETIMEDOUT' }));
      }, this.limits.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        if (mark && !early) mark(socket);
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const refused = error.code === 'ECONNREFUSED';
        reject(new ProxyError(CloseCode.displayUnreachable,
          refused ? `The desktop's ${name} display refused the connection.` : `The desktop's ${name} display could not be reached.`,
          `connect to ${host}:${port}: ${error.code ?? error.message}`, error.code ? { errno: error.code } : {}));
      });
    });
  }

  /** Ends every connection (shutdown). */
  close(): void {
    for (const info of this.sessions.list()) this.sessions.get(info.id)?.end(CloseCode.shuttingDown, 'Porthole is restarting. Open the desktop again in a moment.');
    this.#wss.close();
  }
}
