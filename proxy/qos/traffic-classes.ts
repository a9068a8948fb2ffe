// The table of traffic classes: which 802.1p priority and DSCP each kind of display traffic gets
// on each leg. The defaults come from the protocols' descriptors (RFC 4594's service classes:
// keyboard and mouse as real-time interactive, pictures and sound as interactive multimedia,
// control as low-latency data, bulk transfers as high-throughput data), with socket priorities in
// the same order, so that a VLAN's egress-qos-map puts them in matching 802.1p classes.
import type { LegClasses, ProtocolRegistry, TrafficClass } from '../../contract/protocol.js';

/** `vnc`, `rdp`, `spice.inputs`, ...: a protocol's id, or its id and a channel. */
export type TrafficKind = string;

export type TrafficClasses = Record<TrafficKind, LegClasses>;

/** Every kind of every protocol in the registry, in its default classes (a fresh copy). */
export function defaultTrafficClasses(protocols: ProtocolRegistry): TrafficClasses {
  return structuredClone(protocols.trafficKinds());
}

export function validTrafficClass(c: TrafficClass): boolean {
  return Number.isInteger(c.priority) && c.priority >= 0 && c.priority <= 7 && Number.isInteger(c.dscp) && c.dscp >= 0 && c.dscp <= 63;
}
