// The WebSocket side of the proxy: accepts upgrades on the protocol paths, checks the Origin,
// hands the connection to its protocol's adapter for the handshake, then relays it.
import type { IncomingMessage } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Admission } from '../contract/admission.js';
import type { AuditTrail } from '../contract/audit.js';
import type { Availability } from '../contract/availability.js';
import { normalizeIp } from '../contract/client-address.js';
import { CloseCode, type CloseCodeValue } from '../contract/close-codes.js';
import { mayOpen, type Desktop } from '../contract/desktop.js';
import { BROWSER_SESSION_COOKIE, type DisplayTokenClaims } from '../contract/display-token.js';
import type { AdmittedToken, ConnectionContext, DisplayEnd, ProtocolAdapter, SecureDisplayEnd, VerifiedToken } from './adapter.js';
import { ProxyError, closeWebSocket } from './close.js';
import { displayEnd } from './display-end.js';
import { DisplayReads } from './display-reads.js';
import { Inbox } from './inbox.js';
import { LiveSessions } from './live-sessions.js';
import type { ProxyMetrics } from './metrics.js';
import { limitReceiveBuffer, limitUnsentBytes, type TrafficMarker } from './qos/socket-marking.js';
import type { TrafficClasses, TrafficKind } from './qos/traffic-classes.js';
import { Relay, type RelayEnd, type RelayLimits } from './relay.js';
import { ReplayGuard, type UsedTokens } from './replay-guard.js';
import { LocalJoinableTokens, type JoinableTokens } from './joinable-tokens.js';
import { SharedStateError } from '../contract/shared-state.js';
import type { CertificateTrust } from './tls/certificate-trust.js';
import { secureDisplay } from './tls/display-tls.js';
import type { TokenVerifier } from './token-verifier.js';

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
  towardsBrowserMs: 50,
  handshakeBytes: 64 * 1024,
  maxPayload: 4 * 1024 * 1024,
  connectTimeoutMs: 5000,
};

/** TCP_NOTSENT_LOWAT on the browser's socket: what the kernel may hold unsent beyond what is in flight. */
export const BROWSER_UNSENT_BYTES = 16 * 1024;

/** How long a lost display's desktop is looked for on another host while it is paused (a migration's last moments). */
const MOVE_LOOKUP_MS = 4000;
const MOVE_LOOKUP_EVERY_MS = 200;

/** SO_RCVBUF of the display's socket (the kernel doubles it): a display's window of 256 KiB, ample on a LAN. */
export const DISPLAY_RECEIVE_BYTES = 128 * 1024;

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
  /** The control plane's last say on a verified token (its sign-in, its shadowing). */
  admission?: Admission;
  /** Whether new connections are taken (not while the process drains). */
  availability?: Availability;
  /** Where sessions opened and closed are recorded (with bytes each way and duration). */
  audit?: AuditTrail;
  /** 802.1p/DSCP marking of both legs; absent when turned off. */
  traffic?: { marker: TrafficMarker; classes: TrafficClasses };
  /**
   * The CA (and client certificate) for SPICE and VNC displays that speak TLS (SPICE's tlsPort,
   * VeNCrypt); absent when none is configured, and then such displays are refused, never
   * reached unverified.
   */
  displayTrust?: CertificateTrust;
  /** Where used tokens are remembered: this process by default, or shared by every node. */
  usedTokens?: UsedTokens;
  /** Where joinable claims are kept (SPICE's further channels): this process by default, or shared. */
  joinable?: JoinableTokens;
  /** The sessions registry: this process's by default; the wiring may hand one it also lists elsewhere. */
  sessions?: LiveSessions;
}

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

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

function refuse(socket: Duplex, status: number, text: string): void {
  const body = JSON.stringify({ error: text });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class DisplayProxy {
  readonly sessions: LiveSessions;
  readonly limits: ProxyLimits;
  readonly #options: DisplayProxyOptions;
  readonly #adapters: Map<string, ProtocolAdapter>;
  readonly #replay: UsedTokens;
  /** Tokens whose claiming connection is live and may be joined (SPICE's main channel). */
  readonly #joinable: JoinableTokens;
  readonly #wss: WebSocketServer;
  /** Lookups of where a desktop runs now, shared by the connections that lost it together (SPICE's channels). */
  readonly #whereNow = new Map<string, Promise<RelayEnd | undefined>>();

  constructor(options: DisplayProxyOptions) {
    this.#options = options;
    this.sessions = options.sessions ?? new LiveSessions();
    this.#replay = options.usedTokens ?? new ReplayGuard();
    this.#joinable = options.joinable ?? new LocalJoinableTokens();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#adapters = new Map(options.adapters.map((a) => [a.descriptor.path, a]));
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false, // display data is already compressed; deflate costs CPU and memory
      maxPayload: this.limits.maxPayload,
      clientTracking: false,
      handleProtocols: (offered, req) => {
        const adapter = this.#adapterFor(req.url);
        const subprotocol = adapter?.descriptor.subprotocol;
        return subprotocol && offered.has(subprotocol) ? subprotocol : false;
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
      this.#options.log.warn(
        { origin: origin ?? null, path: adapter.descriptor.path, ip: normalizeIp(req.socket.remoteAddress) },
        'WebSocket refused: origin not allowed',
      );
      return refuse(socket, 403, 'This page is not allowed to open desktop connections (origin not allowed).');
    }
    const refusal = this.#options.availability?.refusal();
    if (refusal) return refuse(socket, 503, refusal);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, req, adapter));
  }

  #serve(ws: WebSocket, req: IncomingMessage, adapter: ProtocolAdapter): void {
    const { log: rootLog, verifier, metrics } = this.#options;
    const { descriptor } = adapter;
    const protocol = descriptor.id;
    const clientIp = normalizeIp(req.socket.remoteAddress);
    // A repeated `token` counts as none: readers of one query string disagree on which one counts.
    const queryTokens = new URL(req.url ?? '/', 'http://proxy.invalid').searchParams.getAll('token');
    const queryToken = queryTokens.length === 1 ? queryTokens[0] : undefined;
    const browserSession = cookieValue(req.headers.cookie, BROWSER_SESSION_COOKIE);
    const log = rootLog.child({ protocol, ip: clientIp });
    const inbox = new Inbox('The browser', this.limits.handshakeBytes);
    const onMessage = (data: RawData) => inbox.push(data as Buffer);
    const onClose = () => inbox.fail(new ProxyError(CloseCode.normal, 'closed', 'the browser closed during the handshake'));
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', (error) =>
      inbox.fail(new ProxyError(CloseCode.protocolError, 'The browser sent data that is not valid WebSocket.', error.message)),
    );

    // What kind of traffic this is: the descriptor's first kind, until the adapter says more
    // (unmarked until then where the descriptor has none).
    let kind: TrafficKind | undefined = descriptor.traffic.initial;
    let displaySocket: Socket | undefined;
    /** Every socket this connection opened to the display: closed here if the handshake fails. */
    const opened = new Set<Socket>();
    // Newest first: a TLS socket before the TCP socket under it (Node 24 crashes the process
    // when the socket under a live TLS socket is destroyed first).
    const closeOpened = () => [...opened].reverse().forEach((socket) => socket.destroy());
    /** The token this connection claimed as joinable, released when the connection ends. */
    let joinableJti: string | undefined;
    const releaseJoinable = () => {
      if (joinableJti === undefined) return;
      // Best effort: a joinable claim left behind in shared state expires by itself.
      this.#joinable.close(joinableJti).catch((error: Error) => log.warn(`a joinable token was not released: ${error.message}`));
      joinableJti = undefined;
    };
    const traffic = this.#options.traffic;
    const classify = (k: TrafficKind) => {
      kind = k;
      if (!traffic) return;
      const classes = traffic.classes[k];
      if (!classes) return;
      traffic.marker.mark(req.socket, classes.client);
      if (displaySocket) traffic.marker.mark(displaySocket, classes.display);
    };
    if (kind) classify(kind);

    const ctx: ConnectionContext = {
      clientIp,
      classify,
      queryToken,
      log,
      client: { inbox, send: (data) => ws.send(data, { binary: true, compress: false }) },
      authenticate: (token, options) =>
        ({ claims: verifier.verify(token, protocol, clientIp, { ...options, browserSession }) }) as VerifiedToken,
      claim: async (token, options) => {
        const { claims } = token;
        if (!(await this.#replay.claim(claims.jti, claims.exp))) {
          throw new ProxyError(
            CloseCode.badToken,
            'This connection link was already used. Open the desktop again from your list.',
            `token ${claims.jti} replayed`,
          );
        }
        if (options?.joinable) {
          await this.#joinable.open(claims.jti);
          joinableJti = claims.jti;
        }
        return { claims } as AdmittedToken;
      },
      join: async (token) => {
        if (!(await this.#joinable.isOpen(token.claims.jti))) {
          throw new ProxyError(
            CloseCode.badToken,
            'This connection belongs to a session that is not open. Open the desktop again from your list.',
            `token ${token.claims.jti} joined no live session`,
          );
        }
        return { claims: token.claims } as AdmittedToken;
      },
      secure: async (display) => {
        const secure = await this.#secure(display, adapter);
        opened.add(secure.socket);
        return secure;
      },
      openDisplay: async (token) => {
        const mark = traffic
          ? (socket: Socket) => {
              const classes = kind ? traffic.classes[kind] : undefined;
              if (classes) traffic.marker.mark(socket, classes.display);
            }
          : undefined;
        const display = await this.#openDisplay(token.claims, adapter, mark, opened);
        displaySocket = display.socket;
        return display;
      },
    };

    adapter.handshake(ctx).then(
      (handshake) => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        handshake.display.release();
        const { claims } = handshake.token;
        if (ws.readyState !== ws.OPEN) {
          closeOpened();
          releaseJoinable();
          handshake.onEnd?.();
          return;
        }
        const opened = handshake.display.desktop;
        const relay = new Relay(ws, handshake.display.socket, this.limits, handshake.filter, handshake.farewell, () => this.#moved(opened));
        // The kernels keep little of the picture (unsent towards the browser, unread from the
        // display), so the backlog stays in the relay, bounded by time, and the display feels it.
        limitUnsentBytes(req.socket, BROWSER_UNSENT_BYTES);
        limitReceiveBuffer(handshake.display.socket, DISPLAY_RECEIVE_BYTES);
        const session = this.sessions.attach(handshake.sessionKey ?? claims.jti, claims, relay);
        const fields = { session: session.id, user: claims.sub, desktop: claims.desktop, ...(claims.rid ? { reqId: claims.rid } : {}) };
        // One user-visible connection per session, however many sockets it has (SPICE's channels).
        if (session.relays.size === 1) {
          this.#options.audit?.record({
            event: 'connection.opened',
            ...fields,
            protocol,
            client: clientIp,
            token: claims.jti,
            viewOnly: claims.viewOnly,
            ...(claims.shadow ? { shadow: claims.shadow } : {}),
          });
        }
        metrics?.connections.inc({ protocol, result: 'ok' });
        metrics?.active.inc({ protocol });
        metrics?.track(relay, protocol, kind ?? protocol);
        relay.start(inbox.drain(), handshake.display.inbox.drain());
        log.info(fields, 'connection open');
        void relay.done.then((end) => {
          this.sessions.detach(session, relay, end);
          if (session.relays.size === 0) {
            const totals = session.info();
            this.#options.audit?.record({
              event: 'connection.closed',
              ...fields,
              protocol,
              client: clientIp,
              token: claims.jti,
              toClient: totals.bytesToClient,
              toDisplay: totals.bytesToDisplay,
              seconds: Math.round((Date.now() - session.startedAt.getTime()) / 1000),
              code: end.code,
              reason: end.reason,
            });
          }
          releaseJoinable();
          handshake.onEnd?.();
          if (handshake.primary) session.close(end.code, end.reason);
          metrics?.active.dec({ protocol });
          metrics?.untrack(relay);
          log.info(
            {
              ...fields,
              code: end.code,
              reason: end.detail,
              toClient: relay.bytesToClient,
              toDisplay: relay.bytesToDisplay,
              seconds: Math.round((Date.now() - relay.startedAt) / 1000),
            },
            'connection closed',
          );
        });
      },
      (error: unknown) => {
        closeOpened();
        releaseJoinable();
        const failure =
          error instanceof ProxyError
            ? error
            : error instanceof SharedStateError
              ? new ProxyError(CloseCode.unavailable, error.sentence, `shared state: ${error.message}`)
              : new ProxyError(
                  CloseCode.protocolError,
                  'The connection failed inside the proxy.',
                  (error as Error)?.stack ?? String(error),
                );
        metrics?.connections.inc({ protocol, result: String(failure.code) });
        log.warn({ code: failure.code }, `connection refused: ${failure.detail}`);
        closeWebSocket(ws, failure.code, failure.reason);
      },
    );
  }

  /**
   * A display that closed on its own may have moved: a desktop now running on another host than
   * the one this connection reached was live-migrated there, and the viewer is told so (it
   * reconnects, and says "Moving"). SPICE's display closes as the memory copy ends, while both
   * hosts still have it paused: a paused desktop is looked at again until the new host resumes it.
   */
  #moved(opened: Desktop): Promise<RelayEnd | undefined> {
    const key = `${opened.id}@${opened.hypervisor}`;
    let lookup = this.#whereNow.get(key);
    if (!lookup) {
      lookup = this.#whereItRuns(opened).catch(() => undefined);
      this.#whereNow.set(key, lookup);
      void lookup.finally(() => this.#whereNow.delete(key));
    }
    return lookup;
  }

  async #whereItRuns(opened: Desktop): Promise<RelayEnd | undefined> {
    const until = Date.now() + MOVE_LOOKUP_MS;
    for (;;) {
      const now = await this.#options.targets.get(opened.id);
      if (now?.state === 'running' && now.hypervisor !== opened.hypervisor) {
        return {
          code: CloseCode.moved,
          reason: 'The desktop is moving to another host.',
          detail: `desktop ${opened.id} moved from ${opened.hypervisor} to ${now.hypervisor}`,
        };
      }
      if (now?.state !== 'paused' || Date.now() > until) return undefined;
      await sleep(MOVE_LOOKUP_EVERY_MS);
    }
  }

  /**
   * Ends the desktop's other session on a display that serves one client, before this one
   * reaches the display: its viewer then reads why, rather than a dropped connection it would
   * reconnect from (and take the desktop back).
   */
  async #takeOver(claims: DisplayTokenClaims): Promise<void> {
    const ended = await this.sessions.endWhere(
      { takeOver: { desktop: claims.desktop, protocol: claims.protocol, except: claims.jti } },
      CloseCode.takenOver,
      'This desktop was opened in another tab or window, so it closed here.',
    );
    if (ended > 0) this.#options.log.info({ desktop: claims.desktop, user: claims.sub, ended }, 'desktop taken over by a new session');
  }

  async #openDisplay(
    claims: DisplayTokenClaims,
    adapter: ProtocolAdapter,
    mark: ((socket: Socket) => void) | undefined,
    opened: Set<Socket>,
  ): Promise<DisplayEnd> {
    const { id: protocol, label: name } = adapter.descriptor;
    const refusal = await this.#options.admission?.admit(claims);
    if (refusal) throw new ProxyError(CloseCode.forbidden, refusal, `token ${claims.jti} refused by the control plane: ${refusal}`);
    let desktop: Desktop | undefined;
    try {
      desktop = await this.#options.targets.get(claims.desktop);
    } catch (error) {
      throw new ProxyError(
        CloseCode.displayUnreachable,
        "Porthole could not reach the desktop's host. Try again in a minute.",
        `inventory lookup of ${claims.desktop} failed: ${(error as Error).message}`,
      );
    }
    if (!desktop) {
      throw new ProxyError(CloseCode.unknownDesktop, 'This desktop no longer exists.', `desktop ${claims.desktop} not in the inventory`);
    }
    if (!claims.shadow && !mayOpen(desktop, { username: claims.sub, roles: claims.roles, groups: claims.groups })) {
      throw new ProxyError(
        CloseCode.forbidden,
        'You may no longer open this desktop.',
        `${claims.sub} is not entitled to ${claims.desktop}`,
      );
    }
    if (desktop.state !== 'running') {
      throw new ProxyError(
        CloseCode.unavailable,
        `The desktop is not running (it is ${desktop.state}). Start it and try again.`,
        `desktop ${claims.desktop} is ${desktop.state}`,
      );
    }
    const endpoint = desktop.displays.find((d) => d.protocol === protocol);
    if (!endpoint) {
      throw new ProxyError(
        CloseCode.unavailable,
        `This desktop has no ${name} display.`,
        `desktop ${claims.desktop} has no ${protocol} display`,
      );
    }
    // A TLS port is used whenever there is one and Porthole can verify it.
    const trust = this.#options.displayTrust;
    const useTls = endpoint.tlsPort !== undefined && (trust !== undefined || endpoint.port === undefined);
    if (useTls && !trust) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `The desktop's ${name} display accepts only TLS, and Porthole has no authority to check it with. Ask your administrator.`,
        `${claims.desktop}: ${name} on TLS port ${endpoint.tlsPort} only, and PORTHOLE_DISPLAY_CA is not set`,
      );
    }
    if (adapter.descriptor.singleClient && !claims.viewOnly && !claims.shadow) await this.#takeOver(claims);
    const socket = await this.#connect(endpoint.host, useTls ? endpoint.tlsPort! : endpoint.port!, name, mark);
    opened.add(socket);
    const display = displayEnd(socket, endpoint, desktop, name, this.limits.handshakeBytes);
    if (!useTls) return display;
    const secure = await this.#secure(display, adapter);
    opened.add(secure.socket);
    return secure;
  }

  /** TLS with a display, its certificate checked against the adapter's trust or the display CA. */
  async #secure(display: DisplayEnd, adapter: ProtocolAdapter): Promise<SecureDisplayEnd> {
    const name = adapter.descriptor.label;
    const trust: CertificateTrust | undefined = adapter.trust ?? this.#options.displayTrust;
    if (!trust) {
      throw new ProxyError(
        CloseCode.displayUntrusted,
        `The desktop's ${name} display requires TLS, and Porthole has no authority to check it with. Ask your administrator.`,
        `${display.desktop.id}: ${name} display asks for TLS, and PORTHOLE_DISPLAY_CA is not set`,
      );
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

  /**
   * TCP to a display. `mark` classifies the socket: before the SYN leaves when the host is an
   * address (the socket is bound first, so it has a descriptor when the attempt starts), so that
   * every packet of the connection carries its priority; after connecting for a host name.
   */
  #connect(host: string, port: number, name: string, mark?: (socket: Socket) => void): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const family = isIP(host);
      const early = mark !== undefined && family !== 0;
      const reads = new DisplayReads();
      const socket = connect({ host, port, onread: reads.onread, ...(early ? { localAddress: family === 6 ? '::' : '0.0.0.0' } : {}) });
      reads.attach(socket);
      if (early) socket.once('connectionAttempt', () => mark(socket));
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new ProxyError(
            CloseCode.displayUnreachable,
            `The desktop's ${name} display did not answer. Try again, or ask your administrator.`,
            `connect to ${host}:${port} timed out`,
            { errno: 'ETIMEDOUT' },
          ),
        );
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
        reject(
          new ProxyError(
            CloseCode.displayUnreachable,
            refused ? `The desktop's ${name} display refused the connection.` : `The desktop's ${name} display could not be reached.`,
            `connect to ${host}:${port}: ${error.code ?? error.message}`,
            error.code ? { errno: error.code } : {},
          ),
        );
      });
    });
  }

  /** Ends every connection with this code and reason; returns how many sessions it ended. */
  endAll(code: CloseCodeValue, reason: string): number {
    return this.sessions.endLocal({ all: true }, code, reason);
  }

  /** Ends every connection (shutdown). */
  close(): void {
    this.endAll(CloseCode.shuttingDown, 'Porthole is restarting. Open the desktop again in a moment.');
    this.#wss.close();
  }
}
