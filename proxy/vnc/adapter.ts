// VNC: one token, one connection. The proxy authenticates to the display and offers the
// browser "no authentication"; view-only connections have their input dropped here, in the
// proxy, whatever the browser's client claims to do.
import type { ConnectionContext, DisplayEnd, Handshake, ProtocolAdapter } from '../adapter.js';
import { RfbClientStream } from './client-messages.js';
import { vnc } from './descriptor.js';
import { acceptClient, authenticateToDisplay } from './rfb-handshake.js';

export class VncAdapter implements ProtocolAdapter {
  readonly descriptor = vnc;

  async handshake(ctx: ConnectionContext): Promise<Handshake> {
    const token = await ctx.claim(ctx.authenticate(ctx.queryToken));
    const opened = await ctx.openDisplay(token);
    const display = await authenticateToDisplay<DisplayEnd>(opened, opened.endpoint.password, (d) => ctx.secure(d));
    await acceptClient(ctx.client);
    const { claims } = token;
    const stream = new RfbClientStream(claims.viewOnly);
    return {
      display,
      token,
      filter: (chunk) => stream.filter(chunk),
      onEnd: () => {
        if (claims.viewOnly)
          ctx.log.info({ user: claims.sub, desktop: claims.desktop, dropped: stream.dropped }, 'view-only input dropped');
      },
    };
  }
}
