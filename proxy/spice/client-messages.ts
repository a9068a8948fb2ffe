// The browser-to-display half of a SPICE channel after its link, for view-only sessions: the
// inputs channel and every channel that carries data into the guest (record, usbredir,
// smartcard, port, webdav, tunnel) forward nothing; the main channel forwards everything but the
// agent messages (clipboard, file transfer, resolution changes) and mouse-mode requests. Display,
// cursor and playback only acknowledge what they receive, so they pass.
import { MessageFilter } from '../message-filter.js';
import { ChannelType } from './link.js';

/** spice-protocol's SPICE_MSGC_MAIN_* that act on the guest. */
const MAIN_DROPPED = new Set([105 /* mouse mode request */, 106 /* agent start */, 107 /* agent data */, 108 /* agent token */]);
const PASSIVE = new Set<number>([ChannelType.display, ChannelType.cursor, ChannelType.playback]);
const MAX_KEPT = 64 * 1024;

export class SpiceClientStream {
  dropped = 0;
  readonly #main: MessageFilter<'main'>;

  /**
   * @param channelType the channel's type from its link message
   * @param miniHeader whether both sides agreed on SPICE_COMMON_CAP_MINI_HEADER
   */
  constructor(
    readonly channelType: number,
    readonly miniHeader: boolean,
  ) {
    const headerSize = miniHeader ? 6 : 18;
    this.#main = new MessageFilter(
      (b) => {
        if (b.length < headerSize) return { length: undefined, drop: undefined };
        const type = b.readUInt16LE(miniHeader ? 0 : 8);
        const length = headerSize + b.readUInt32LE(miniHeader ? 2 : 10);
        return { length, drop: MAIN_DROPPED.has(type) ? 'main' : undefined };
      },
      () => {
        this.dropped++;
      },
      MAX_KEPT,
      'SPICE',
    );
  }

  /** The bytes to forward for `chunk` in a view-only session. */
  filter(chunk: Buffer): Buffer {
    if (PASSIVE.has(this.channelType)) return chunk;
    if (this.channelType === ChannelType.main) return this.#main.filter(chunk);
    if (chunk.length > 0) this.dropped++;
    return chunk.subarray(0, 0);
  }
}
