// The protocols this browser client speaks, in the server's default fallback order: one line
// each, the protocol's descriptor (shared with the server) and its connector, loaded when a
// viewer starts (the desktop list needs only the names).
import type { ProtocolDescriptor } from '../../contract/protocol.js';
import { rdp } from '../../proxy/rdp/descriptor.js';
import { spice } from '../../proxy/spice/descriptor.js';
import { vnc } from '../../proxy/vnc/descriptor.js';
import type { Connector, ViewerPage } from './connectors/connector.js';

export interface ProtocolClient {
  readonly descriptor: ProtocolDescriptor;
  connector(page: ViewerPage): Promise<Connector>;
}

export const PROTOCOL_CLIENTS: readonly ProtocolClient[] = [
  { descriptor: spice, connector: async () => new (await import('./connectors/spice.js')).SpiceConnector() },
  { descriptor: vnc, connector: async () => new (await import('./connectors/vnc.js')).VncConnector() },
  { descriptor: rdp, connector: async (page) => new (await import('./connectors/rdp.js')).RdpConnector(page.signInForm) },
];

/** How people name a protocol: `SPICE`. */
export function protocolLabel(id: string): string {
  return PROTOCOL_CLIENTS.find((c) => c.descriptor.id === id)?.descriptor.label ?? id.toUpperCase();
}
