// The traffic kind of a SPICE channel, from the channel type in its link message: each channel
// is marked on its own (see the descriptor's table).
import { ChannelType } from './link.js';

export function spiceTrafficKind(channelType: number): string {
  switch (channelType) {
    case ChannelType.main:
      return 'spice.main';
    case ChannelType.display:
      return 'spice.display';
    case ChannelType.inputs:
      return 'spice.inputs';
    case ChannelType.cursor:
      return 'spice.cursor';
    case ChannelType.playback:
      return 'spice.playback';
    case ChannelType.record:
      return 'spice.record';
    case ChannelType.usbredir:
      return 'spice.usbredir';
    default:
      return 'spice.other';
  }
}
