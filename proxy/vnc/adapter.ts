// VNC: one token, one connection. The proxy authenticates to the display and offers the
// browser "no authentication".
import type { Handshake, ProtocolAdapter, ConnectionContext } from '../adapter.js';
import { acceptClient, authenticateToDisplay } from './rfb-handshake.js';

export class VncAdapter implements ProtocolAdapter {
  readonly protocol = 'vnc' as const;
  readonly path = '/ws/vnc';

  async handshake(ctx: ConnectionContext): Promise<Handshake> {
    const claims = ctx.authenticate(ctx.queryToken);
    ctx.claim(claims);
    const display = await ctx.openDisplay(claims);
    try {
      await authenticateToDisplay(display, display.endpoint.password);
      await acceptClient(ctx.client);
    } catch (error) {
      display.socket.destroy();
      throw error;
    }
    return { display, claims, sessionKey: claims.jti };
  }
}
