// The data path of one connection after its handshake: bytes both ways between the browser's
// WebSocket and the display's TCP socket, with backpressure in each direction so that a slow
// reader on one side stops the writer on the other instead of growing a buffer, and with
// idle and maximum-duration limits.
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import { CloseCode, type CloseCodeValue } from '../contract/close-codes.js';
import { performance } from 'node:perf_hooks';
import { BrowserDrain } from './browser-drain.js';
import { closeWebSocket } from './close.js';
import { readsOf, type DisplayReads } from './display-reads.js';

/** What the display receives, and how long its side stays open, once the relay closes. */
export interface Farewell {
  send?: Buffer;
  lingerMs: number;
}

export interface RelayLimits {
  /** Close after this long without a byte in either direction. */
  idleTimeoutMs: number;
  /** Close after this long, whatever happens. */
  maxDurationMs: number;
  /**
   * Most bytes queued towards one side before the other side is paused; towards the browser,
   * the ceiling of the time-bounded backlog.
   */
  highWaterMark: number;
  /** How long what the proxy holds for a browser may take to drain at its rate (default 50 ms). */
  towardsBrowserMs?: number;
}

/** Display data goes to the browser as binary frames, never compressed (it is compressed already). */
const SEND = { binary: true, compress: false } as const;

/** The least the proxy holds for a browser, however slow: one typical display read. */
export const BROWSER_BACKLOG_FLOOR = 32 * 1024;
/** What a new connection may hold before its browser's rate is known. */
const BROWSER_BACKLOG_INITIAL = 256 * 1024;

export interface RelayEnd {
  code: number;
  reason: string;
  /** What the log needs beyond the user's reason. */
  detail: string;
}

/**
 * Inspects client-to-display data. Returns the bytes to forward (possibly fewer), or throws a
 * ProxyError to close the connection. Used to enforce view-only.
 */
export type ClientFilter = (chunk: Buffer) => Buffer;

/**
 * Asked when the display's side ends first: a truer end to tell the browser than "the display
 * closed", if there is one (the desktop moved to another host, so the viewer says so).
 */
export type DisplayLoss = () => Promise<RelayEnd | undefined>;

/** How long the browser's close waits for a DisplayLoss answer. */
const LOSS_ANSWER_MS = 5000;

export class Relay {
  bytesToDisplay = 0;
  bytesToClient = 0;
  readonly startedAt = Date.now();
  readonly done: Promise<RelayEnd>;
  #lastActivity = Date.now();
  #ended = false;
  /** The display's side ended and its DisplayLoss is being asked why. */
  #losing = false;
  #finish!: (end: RelayEnd) => void;
  #idleTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;
  readonly #drain: BrowserDrain;
  readonly #reads: DisplayReads | undefined;

  /**
   * @param farewell what the display must receive, and how long it stays open, before the
   *   proxy closes it (a SPICE display channel closed before or just after its DISPLAY_INIT)
   */
  constructor(
    readonly client: WebSocket,
    readonly display: Socket,
    readonly limits: RelayLimits,
    readonly filter?: ClientFilter,
    readonly farewell?: () => Farewell | undefined,
    readonly displayLoss?: DisplayLoss,
  ) {
    const ceiling = limits.highWaterMark;
    this.#drain = new BrowserDrain(
      limits.towardsBrowserMs ?? 50,
      Math.min(BROWSER_BACKLOG_FLOOR, ceiling),
      ceiling,
      Math.min(BROWSER_BACKLOG_INITIAL, ceiling),
    );
    this.#reads = readsOf(display);
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** Starts relaying, first delivering what each side sent during the handshake. */
  start(pendingToDisplay: Buffer[], pendingToClient: Buffer[]): void {
    const { client, display } = this;
    display.setNoDelay(true);
    for (const chunk of pendingToDisplay) this.#toDisplay(chunk);
    // The handshake's chunks are not the relay's to release: its readers may keep parts of them.
    for (const chunk of pendingToClient) this.#toClient(chunk, false);
    this.#reads?.retain(this.#drain.bound);

    client.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        this.close(CloseCode.protocolError, 'The browser sent text where the display protocol is binary.');
        return;
      }
      this.#toDisplay(data as Buffer);
    });
    client.on('close', (code, reason) => this.close(code, reason.toString() || 'closed by the browser', 'browser closed'));
    client.on('error', (error) => this.close(CloseCode.protocolError, 'The browser sent data that is not valid WebSocket.', error.message));
    display.on('data', (chunk: Buffer) => this.#toClient(chunk));
    display.on('drain', () => client.resume());
    display.on('end', () => this.#lost(CloseCode.normal, "The desktop's display closed the connection."));
    display.on('error', (error) => this.#lost(CloseCode.displayUnreachable, 'The connection to the desktop was lost.', error.message));
    display.on('close', () => this.#lost(CloseCode.normal, "The desktop's display closed the connection."));

    this.#armIdle(this.limits.idleTimeoutMs);
    this.#maxTimer = setTimeout(
      () =>
        this.close(
          CloseCode.maxDuration,
          `The session reached its maximum length of ${formatDuration(this.limits.maxDurationMs)}. Open the desktop again to continue.`,
        ),
      this.limits.maxDurationMs,
    );
    this.#maxTimer.unref();
  }

  /** How many bytes wait in the proxy for a slow peer, both directions together. */
  get bufferedBytes(): number {
    return this.client.bufferedAmount + this.display.writableLength;
  }

  #toDisplay(chunk: Buffer): void {
    if (this.#ended) return;
    let data = chunk;
    if (this.filter) {
      try {
        data = this.filter(chunk);
      } catch (error) {
        const e = error as { code?: CloseCodeValue; reason?: string; message: string };
        this.close(e.code ?? CloseCode.protocolError, e.reason ?? 'The browser sent a message the proxy cannot accept.', e.message);
        return;
      }
      if (data.length === 0) return;
    }
    this.#lastActivity = Date.now();
    this.bytesToDisplay += data.length;
    if (!this.display.write(data)) this.client.pause();
  }

  /** Bytes the proxy may hold towards the browser now: its drain rate times the time bound. */
  get browserBound(): number {
    return this.#drain.bound;
  }

  /** The browser's measured drain rate, bytes per second (0 until measured). */
  get browserBytesPerSecond(): number {
    return this.#drain.bytesPerSecond;
  }

  /** @param read the chunk is a display read whose buffer the relay gives back once it is sent */
  #toClient(chunk: Buffer, read = true): void {
    if (this.#ended) return;
    this.#lastActivity = Date.now();
    const { client, display } = this;
    const buffered = client.bufferedAmount;
    this.#drain.observe(performance.now(), this.bytesToClient - buffered, buffered);
    this.bytesToClient += chunk.length;
    // The chunk that crosses the bound is where the relay stops reading; everything queued
    // before it is flushed by the time it is, so that is the moment to resume (and a clean
    // measurement of the browser's rate: a backlog drained from start to end).
    const crosses = buffered + chunk.length >= this.#drain.bound;
    const reads = read ? this.#reads : undefined;
    if (reads) {
      // The read's buffer is used again once the browser's socket has taken the chunk: at once
      // when it was written through (encrypted, handed to the kernel), else when it is sent.
      let held = true;
      client.send(chunk, SEND, () => {
        if (held) reads.release(chunk);
        if (crosses) this.#flushed();
      });
      if (client.bufferedAmount === 0) {
        held = false;
        reads.release(chunk);
      }
    } else {
      client.send(chunk, SEND, crosses ? () => this.#flushed() : undefined);
    }
    if (crosses) {
      display.pause();
      // The backlog's start: from here to the flush is a clean measurement of the browser's rate.
      this.#drain.observe(performance.now(), this.bytesToClient - client.bufferedAmount, client.bufferedAmount, true);
    }
  }

  #flushed(): void {
    if (this.#ended) return;
    const buffered = this.client.bufferedAmount;
    this.#drain.observe(performance.now(), this.bytesToClient - buffered, buffered, true);
    this.#reads?.retain(this.#drain.bound);
    this.display.resume();
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      const quiet = Date.now() - this.#lastActivity;
      if (quiet >= this.limits.idleTimeoutMs) {
        this.close(
          CloseCode.idle,
          `Closed after ${formatDuration(this.limits.idleTimeoutMs)} without activity. Open the desktop again to continue.`,
        );
      } else {
        this.#armIdle(this.limits.idleTimeoutMs - quiet);
      }
    }, ms);
    this.#idleTimer.unref();
  }

  /** The display's side ended: closes with the DisplayLoss's answer, or with this end when it has none in time. */
  #lost(code: number, reason: string, detail = reason): void {
    if (this.#ended || this.#losing) return;
    if (!this.displayLoss) return this.close(code, reason, detail);
    this.#losing = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOSS_ANSWER_MS);
    });
    void Promise.race([this.displayLoss(), late])
      .catch(() => undefined)
      .then((truer) => {
        clearTimeout(timer);
        if (truer) this.close(truer.code, truer.reason, truer.detail);
        else this.close(code, reason, detail);
      });
  }

  /** Ends both legs; the browser gets `code` and `reason`. */
  close(code: number, reason: string, detail = reason): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#maxTimer);
    const last = this.display.destroyed ? undefined : this.farewell?.();
    if (last) {
      if (last.send) this.display.write(last.send);
      setTimeout(() => this.display.destroy(), last.lingerMs).unref();
    } else {
      this.display.destroy();
    }
    closeWebSocket(this.client, code, reason); // nothing to do when the browser closed first
    this.#finish({ code, reason, detail });
  }
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60000);
  if (minutes >= 120 && minutes % 60 === 0) return `${minutes / 60} hours`;
  if (minutes >= 1) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}
