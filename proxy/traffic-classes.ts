// Which traffic class each kind of display traffic gets, on each leg. Defaults follow RFC 4594's
// service classes: keyboard and mouse as real-time interactive (CS4), pictures and sound as
// interactive multimedia (AF41), control as low-latency data (AF21), and bulk transfers
// (USB redirection, file sharing) as high-throughput data (AF11); socket priorities in the same
// order, so that a VLAN's egress-qos-map puts them in matching 802.1p classes.
import { ChannelType } from './spice/link.js';
import type { TrafficClass } from './traffic-class.js';

export const TRAFFIC_KINDS = [
  'vnc', 'rdp',
  'spice.main', 'spice.display', 'spice.inputs', 'spice.cursor', 'spice.playback', 'spice.record', 'spice.usbredir', 'spice.other',
] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

/** The class for the browser-side leg and for the host-side (display) leg. */
export interface LegClasses {
  client: TrafficClass;
  display: TrafficClass;
}

export type TrafficClasses = Record<TrafficKind, LegClasses>;

const both = (priority: number, dscp: number): LegClasses => ({ client: { priority, dscp }, display: { priority, dscp } });
const CS4 = 32;
const AF41 = 34;
const AF21 = 18;
const AF11 = 10;

export const DEFAULT_TRAFFIC_CLASSES: TrafficClasses = {
  // VNC and RDP carry input and pictures on one connection: the interactive-multimedia class.
  vnc: both(5, AF41),
  rdp: both(5, AF41),
  'spice.inputs': both(6, CS4),
  'spice.display': both(5, AF41),
  'spice.cursor': both(5, AF41),
  'spice.playback': both(5, AF41),
  'spice.record': both(5, AF41),
  'spice.main': both(4, AF21),
  'spice.usbredir': both(1, AF11),
  'spice.other': both(1, AF11),
};

/** The kind of a SPICE channel, from the channel type in its link message. */
export function spiceTrafficKind(channelType: number): TrafficKind {
  switch (channelType) {
    case ChannelType.main: return 'spice.main';
    case ChannelType.display: return 'spice.display';
    case ChannelType.inputs: return 'spice.inputs';
    case ChannelType.cursor: return 'spice.cursor';
    case ChannelType.playback: return 'spice.playback';
    case ChannelType.record: return 'spice.record';
    case ChannelType.usbredir: return 'spice.usbredir';
    default: return 'spice.other';
  }
}
