// VNC (RFB): one connection per session; the protocol helpdesk watchers use, since QEMU's VNC
// server takes a second, shared client beside the user's.
import { bothLegs, DSCP, type ProtocolDescriptor } from '../../contract/protocol.js';

export const vnc: ProtocolDescriptor = {
  id: 'vnc',
  label: 'VNC',
  path: '/ws/vnc',
  token: 'query',
  viewOnly: true,
  watching: true,
  endpoint: { from: 'graphics', type: 'vnc', tlsPort: false },
  // Input and pictures share one connection: the interactive-multimedia class.
  traffic: { initial: 'vnc', kinds: { vnc: bothLegs(5, DSCP.AF41) } },
};
