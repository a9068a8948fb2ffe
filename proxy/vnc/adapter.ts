// VNC: one token, one connection. The proxy authenticates to the display and offers the
// browser "no authentication"; view-only connections have their input dropped here, in the
// proxy, whatever the browser's client claims to do.
import type { Handshake, ProtocolAdapter, ConnectionContext } from '../adapter.js';
import { RfbClientStream } from './client-messages.js';
import { acceptClient, authenticateToDisplay } from './rfb-handshake.js';

export class VncAdapter implements ProtocolAdapter {
  readonly protocol = 'vnc' as const;
  readonly path = '/ws/vnc';

  async handshake(ctx: ConnectionContext): Promise<Handshake> {
    const claims = ctx.authenticate(ctx.queryToken);
    ctx.claim(claims);
    const opened = await ctx.openDisplay(claims);
    let display = opened;
    try {
      display = await authenticateToDisplay(opened, opened.endpoint.password, (d) => ctx.secure(d));
      await acceptClient(ctx.client);
    } catch (error) {
      display.socket.destroy();
      opened.socket.destroy();
      throw error;
    }
    const stream = new RfbClientStream(claims.viewOnly);
    return {
      display,
      claims,
      sessionKey: claims.jti,
      filter: (chunk) => stream.filter(chunk),
      onEnd: () => {
        if (claims.viewOnly) ctx.log.info({ user: claims.sub, desktop: claims.desktop, dropped: stream.dropped }, 'view-only input dropped');
      },
    };
  }
}
