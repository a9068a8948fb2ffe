// The browser-to-display half of a SPICE channel after its link, for view-only sessions: the
// inputs channel and every channel that carries data into the guest (record, usbredir,
// smartcard, port, webdav, tunnel) forward nothing; the main channel forwards everything but the
// agent messages (clipboard, file transfer, resolution changes) and mouse-mode requests. Display,
// cursor and playback only acknowledge what they receive, so they pass.
import { CloseCode, ProxyError } from '../close.js';
import { ChannelType } from './link.js';

/** spice-protocol's SPICE_MSGC_MAIN_* that act on the guest. */
const MAIN_DROPPED = new Set([105 /* mouse mode request */, 106 /* agent start */, 107 /* agent data */, 108 /* agent token */]);
const PASSIVE = new Set<number>([ChannelType.display, ChannelType.cursor, ChannelType.playback]);
const MAX_KEPT = 64 * 1024;

export class SpiceClientStream {
  dropped = 0;
  #pending: Buffer | undefined;
  #skip = 0;

  /**
   * @param channelType the channel's type from its link message
   * @param miniHeader whether both sides agreed on SPICE_COMMON_CAP_MINI_HEADER
   */
  constructor(readonly channelType: number, readonly miniHeader: boolean) {}

  /** The bytes to forward for `chunk` in a view-only session. */
  filter(chunk: Buffer): Buffer {
    if (PASSIVE.has(this.channelType)) return chunk;
    if (this.channelType !== ChannelType.main) {
      if (chunk.length > 0) this.dropped++;
      return chunk.subarray(0, 0);
    }
    let data = chunk;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, data.length);
      this.#skip -= n;
      data = data.subarray(n);
    }
    if (this.#pending) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    }
    const headerSize = this.miniHeader ? 6 : 18;
    const out: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      const rest = data.subarray(at);
      if (rest.length < headerSize) { this.#pending = Buffer.from(rest); break; }
      const type = rest.readUInt16LE(this.miniHeader ? 0 : 8);
      const size = rest.readUInt32LE(this.miniHeader ? 2 : 10);
      const length = headerSize + size;
      if (MAIN_DROPPED.has(type)) {
        this.dropped++;
        if (rest.length < length) { this.#skip = length - rest.length; break; }
      } else {
        if (size > MAX_KEPT) {
          throw new ProxyError(CloseCode.protocolError, 'The viewer sent a SPICE message larger than a view-only session allows.',
            `SPICE main channel message type ${type} of ${size} bytes`);
        }
        if (rest.length < length) { this.#pending = Buffer.from(rest); break; }
        out.push(rest.subarray(0, length));
      }
      at += length;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}
