// Minimal SPICE, VNC and RDCleanPath clients that speak to the proxy over a WebSocket, as a browser's
// spice-html5, noVNC and IronRDP do, for protocol-level tests without a browser.
import type { WebSocket } from 'ws';
import { withDeadline } from './deadline.js';

/** How long a test waits for a WebSocket to open or close before it fails (a regression must not hang CI). */
export const WAIT_DEADLINE_MS = 60_000;

export interface Closed {
  code: number;
  reason: string;
}

/** Reads a WebSocket as a byte stream; `closed` resolves with the close code and reason. */
export class WireReader {
  #buffer = Buffer.alloc(0);
  #notify: (() => void) | undefined;
  readonly #closed: Promise<Closed>;
  readonly #opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, data]);
      this.#notify?.();
    });
    this.#closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#notify?.();
      }),
    );
    this.#opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    this.#opened.catch(() => {});
  }

  /** The close code and reason; awaiting it fails after WAIT_DEADLINE_MS rather than hang. */
  get closed(): Promise<Closed> {
    return withDeadline(this.#closed, WAIT_DEADLINE_MS, `the WebSocket to ${this.ws.url} to close`);
  }

  /** Resolves when the upgrade succeeds, rejects when it is refused; fails after WAIT_DEADLINE_MS rather than hang. */
  get opened(): Promise<void> {
    return withDeadline(this.#opened, WAIT_DEADLINE_MS, `the WebSocket to ${this.ws.url} to open`);
  }

  /** Exactly n bytes, or an error naming the close code and reason if the socket closes first. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buffer.length < n) {
      if (this.ws.readyState === this.ws.CLOSED) {
        const c = await this.closed;
        throw new Error(`closed ${c.code}: ${c.reason}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes (have ${this.#buffer.length})`);
      await new Promise<void>((r) => {
        this.#notify = r;
        setTimeout(r, 50);
      });
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }
}

/** noVNC's side of the RFB handshake through the proxy: expects security type None only. */
export async function vncHandshake(reader: WireReader): Promise<{ securityTypes: number[]; width: number; height: number; name: string }> {
  await reader.opened;
  const version = (await reader.read(12)).toString('latin1');
  if (version !== 'RFB 003.008\n') throw new Error(`unexpected version ${JSON.stringify(version)}`);
  reader.ws.send(Buffer.from('RFB 003.008\n'));
  const count = (await reader.read(1))[0]!;
  const securityTypes = [...(await reader.read(count))];
  reader.ws.send(Buffer.from([1]));
  const result = (await reader.read(4)).readUInt32BE(0);
  if (result !== 0) throw new Error(`security result ${result}`);
  reader.ws.send(Buffer.from([1])); // ClientInit, shared
  const init = await reader.read(24);
  const name = (await reader.read(init.readUInt32BE(20))).toString('utf8');
  return { securityTypes, width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
}

/** A SPICE link message as spice-html5 sends it (AUTH_SELECTION, AUTH_SPICE, MINI_HEADER). */
export function spiceLink(connectionId: number, channelType: number, channelId = 0): Buffer {
  const b = Buffer.alloc(16 + 18 + 8);
  b.writeUInt32LE(0x51444552, 0);
  b.writeUInt32LE(2, 4);
  b.writeUInt32LE(2, 8);
  b.writeUInt32LE(26, 12);
  b.writeUInt32LE(connectionId, 16);
  b[20] = channelType;
  b[21] = channelId;
  b.writeUInt32LE(1, 22);
  b.writeUInt32LE(1, 26);
  b.writeUInt32LE(18, 30);
  b.writeUInt32LE(0b1011, 34);
  b.writeUInt32LE(0, 38);
  return b;
}

/**
 * SPICE_MSGC_DISPLAY_INIT as spice-html5 sends it right after linking a display channel.
 * QEMU 7.2's spice-server (0.15) crashes (SPICE Worker segfault) when a display channel is
 * linked and closed without it: a client-side duty the tests honour, as real clients do.
 */
function displayInit(): Buffer {
  const b = Buffer.alloc(6 + 14);
  b.writeUInt16LE(101, 0);
  b.writeUInt32LE(14, 2);
  b[6] = 1;
  b.writeBigUInt64LE(10n * 1024n * 1024n, 7);
  b[15] = 0;
  b.writeUInt32LE(0, 16);
  return b;
}

/**
 * Links one SPICE channel through the proxy with a ticket that is NOT the password (128 zero
 * bytes): the proxy must substitute the real one. Returns the server's auth result and, for the
 * main channel, the session id from SPICE_MSG_MAIN_INIT.
 */
export async function spiceChannel(
  reader: WireReader,
  connectionId: number,
  channelType: number,
): Promise<{ auth: number; sessionId?: number }> {
  await reader.opened;
  reader.ws.send(spiceLink(connectionId, channelType));
  const header = await reader.read(16);
  const reply = await reader.read(header.readUInt32LE(12));
  if (reply.readUInt32LE(0) !== 0) throw new Error(`link error ${reply.readUInt32LE(0)}`);
  const ticket = Buffer.alloc(4 + 128);
  ticket.writeUInt32LE(1, 0);
  reader.ws.send(ticket);
  const auth = (await reader.read(4)).readUInt32LE(0);
  if (auth === 0 && channelType === 2) reader.ws.send(displayInit());
  if (auth !== 0 || channelType !== 1) return { auth };
  const mini = await reader.read(6);
  const body = await reader.read(mini.readUInt32LE(2));
  if (mini.readUInt16LE(0) !== 103) throw new Error(`main channel's first message is type ${mini.readUInt16LE(0)}`);
  return { auth, sessionId: body.readUInt32LE(0) };
}

const SHIFT_L = 0xffe1;
const RETURN = 0xff0d;

/** RFB KeyEvents (down and up) typing `text`, with Shift held around '>' as a keyboard would; one buffer per character. */
export function rfbKeys(text: string): Buffer[] {
  const typed: Buffer[] = [];
  let events: Buffer[] = [];
  const key = (keysym: number, down: boolean) => {
    const b = Buffer.alloc(8);
    b[0] = 4;
    b[1] = down ? 1 : 0;
    b.writeUInt32BE(keysym, 4);
    events.push(b);
  };
  for (const ch of text) {
    const keysym = ch === '\n' ? RETURN : ch.charCodeAt(0);
    const shifted = ch === '>' || /[A-Z]/.test(ch);
    // QEMU maps the keysym (e.g. 'S') to a key and a shift state; Shift must really be down.
    if (shifted) key(SHIFT_L, true);
    key(keysym, true);
    key(keysym, false);
    if (shifted) key(SHIFT_L, false);
    typed.push(Buffer.concat(events));
    events = [];
  }
  return typed;
}

/** Sends each buffer with a pause between, as fast as a quick typist: the guest's PS/2 queue is short. */
export async function sendSlowly(ws: WebSocket, buffers: Buffer[], pauseMs = 15): Promise<void> {
  for (const b of buffers) {
    ws.send(b);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** A FramebufferUpdateRequest for the whole screen. */
export function rfbUpdateRequest(width: number, height: number, incremental = false): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(width, 6);
  b.writeUInt16BE(height, 8);
  return b;
}

/** An X.224 Connection Request as an RDP client sends it, asking for `protocols` (1 TLS, 2 NLA, 8 NLA-ext). */
export function x224ConnectionRequest(protocols: number): Buffer {
  const cookie = Buffer.from('Cookie: mstshash=porthole\r\n', 'latin1');
  const negotiation = Buffer.from([0x01, 0x00, 0x08, 0x00, 0, 0, 0, 0]);
  negotiation.writeUInt32LE(protocols, 4);
  const tpdu = Buffer.concat([Buffer.from([0, 0xe0, 0, 0, 0, 0, 0]), cookie, negotiation]);
  tpdu[0] = tpdu.length - 1;
  const tpkt = Buffer.from([3, 0, 0, 0]);
  tpkt.writeUInt16BE(4 + tpdu.length, 2);
  return Buffer.concat([tpkt, tpdu]);
}

/** Reads one whole DER PDU (an RDCleanPath answer) from the proxy. */
export async function readDerPdu(reader: WireReader): Promise<Buffer> {
  const head = await reader.read(2);
  const first = head[1]!;
  if (first < 0x80) return Buffer.concat([head, await reader.read(first)]);
  const octets = await reader.read(first & 0x7f);
  const length = octets.reduce((n, b) => n * 256 + b, 0);
  return Buffer.concat([head, octets, await reader.read(length)]);
}
