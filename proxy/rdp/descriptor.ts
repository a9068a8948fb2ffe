// RDP through RDCleanPath, as IronRDP's web client speaks it: the token travels inside the
// RDCleanPath request, and the client names its destination, which the proxy checks.
import { bothLegs, DSCP, type ProtocolDescriptor } from '../../contract/protocol.js';

export const rdp: ProtocolDescriptor = {
  id: 'rdp',
  label: 'RDP',
  path: '/ws/rdp',
  token: 'handshake',
  namesDestination: true,
  // IronRDP has no read-only mode, and the proxy does not parse RDP's encrypted input.
  viewOnly: false,
  endpoint: { from: 'metadata', element: 'rdp' },
  traffic: { initial: 'rdp', kinds: { rdp: bothLegs(5, DSCP.AF41) } },
};
