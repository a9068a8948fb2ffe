// How a display connection ends, as a WebSocket close code: the proxy closes with these, the
// gateway ends sessions with them, and the viewer reads them to say what happened.
export const CloseCode = {
  normal: 1000,
  shuttingDown: 1001,
  /** The server is restarting (a drain's deadline): the viewer reconnects by itself, to this or another node. */
  restarting: 1012,
  /** The token is missing, malformed, expired or already used. */
  badToken: 4001,
  /** The token is valid but does not allow this (other user, other IP, view-only, ...). */
  forbidden: 4003,
  /** The desktop in the token is gone from the inventory. */
  unknownDesktop: 4004,
  /** The desktop is not running or has no such display. */
  unavailable: 4009,
  /** The display did not answer or refused the connection. */
  displayUnreachable: 4010,
  /** The display refused the proxy's credentials. */
  displayAuthFailed: 4011,
  /** The display's TLS certificate is not trusted (wrong CA, wrong name, changed since pinned). */
  displayUntrusted: 4012,
  /** The desktop moved to another host (a live migration): the viewer reconnects by itself, to the new host. */
  moved: 4014,
  /** The browser or the display sent something that is not the protocol. */
  protocolError: 4400,
  /** No traffic for the idle limit. */
  idle: 4408,
  /** The session reached its maximum duration. */
  maxDuration: 4409,
  /** An administrator ended the session. */
  endedByAdmin: 4410,
  /** The helpdesk's shadowing ended (by the user, the helpdesk, or with the watched session). */
  shadowEnded: 4411,
  /** The browser the session was opened from signed out. */
  signedOut: 4412,
  /** The desktop was opened elsewhere (another tab, window or person) on a display that serves one client: the viewer does not reconnect. */
  takenOver: 4413,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];
