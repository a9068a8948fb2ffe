// SPICE: the protocol tried first. One WebSocket per SPICE channel, all with the same token, and
// each channel's traffic in its own class (keyboard and mouse ahead of pictures).
import { bothLegs, DSCP, type ProtocolDescriptor } from '../../contract/protocol.js';

export const spice: ProtocolDescriptor = {
  id: 'spice',
  label: 'SPICE',
  path: '/ws/spice',
  // spice-html5 asks for it, and Chromium aborts a socket whose answer names none.
  subprotocol: 'binary',
  token: 'query',
  singleClient: true,
  viewOnly: true,
  endpoint: { from: 'graphics', type: 'spice', tlsPort: true },
  traffic: {
    kinds: {
      'spice.main': bothLegs(4, DSCP.AF21),
      'spice.display': bothLegs(5, DSCP.AF41),
      'spice.inputs': bothLegs(6, DSCP.CS4),
      'spice.cursor': bothLegs(5, DSCP.AF41),
      'spice.playback': bothLegs(5, DSCP.AF41),
      'spice.record': bothLegs(5, DSCP.AF41),
      'spice.usbredir': bothLegs(1, DSCP.AF11),
      'spice.other': bothLegs(1, DSCP.AF11),
    },
  },
};
