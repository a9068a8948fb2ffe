// One connection attempt for a desktop over one protocol: a fresh token, and where it travels
// as the protocol's descriptor says (in the URL, or inside the protocol's first message).
import type { Attempt } from '../contract/api/desktops.js';
import { endpointAddress, type Desktop, type Principal } from '../contract/desktop.js';
import type { ProtocolDescriptor } from '../contract/protocol.js';
import type { TokenIssuer } from './token-issuer.js';

export interface AttemptRequest {
  who: Principal;
  desktop: Desktop;
  descriptor: ProtocolDescriptor;
  viewOnly: boolean;
  clientIp: string;
  browserSession: string | undefined;
  /** The shadowing request a helpdesk watcher's attempt belongs to. */
  shadow?: string;
  /** The HTTP request's id, carried in the token to the proxy's connection log lines. */
  requestId?: string;
}

export function buildAttempt(issuer: TokenIssuer, webSocketOrigin: string, request: AttemptRequest): Attempt {
  const { descriptor, desktop } = request;
  const issued = issuer.issue(request.who, desktop.id, descriptor.id, {
    viewOnly: request.viewOnly,
    clientIp: request.clientIp,
    ...(request.browserSession !== undefined ? { browserSession: request.browserSession } : {}),
    ...(request.shadow !== undefined ? { shadow: request.shadow } : {}),
    ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
  });
  const base = `${webSocketOrigin}${descriptor.path}`;
  const url = descriptor.token === 'query' ? `${base}?token=${encodeURIComponent(issued.token)}` : base;
  const endpoint = desktop.displays.find((d) => d.protocol === descriptor.id);
  return {
    protocol: descriptor.id,
    url,
    token: issued.token,
    expiresAt: issued.expiresAt.toISOString(),
    ...(descriptor.namesDestination && endpoint ? { destination: endpointAddress(endpoint) } : {}),
  };
}
