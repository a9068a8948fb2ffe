// Remembers why each WebSocket closed. spice-html5 and noVNC report only "connection failed";
// the proxy's close reason says why (e.g. "The desktop's SPICE display refused the connection."),
// and that is what the user should read. The constructor is wrapped, not subclassed: noVNC checks
// the instance's own prototype, so instances stay plain WebSockets.

export interface CloseRecord {
  code: number;
  reason: string;
  at: number;
}

const closes = new Map<string, CloseRecord>();
let installed = false;

export function installCloseRecorder(): void {
  if (installed) return;
  installed = true;
  const Native = window.WebSocket;
  const Recording = function (this: unknown, url: string | URL, protocols?: string | string[]) {
    const socket = new Native(url, protocols);
    // A close the page's client started may come back with the client's own words ("client
    // dropped"); Porthole's codes (4000-4999) carry the proxy's reason even then, because the
    // proxy's close was already on its way (IronRDP closes as soon as it reads an error PDU).
    let closedByPage = false;
    const close = socket.close.bind(socket);
    socket.close = (code?: number, reason?: string) => {
      closedByPage = true;
      close(code, reason);
    };
    socket.addEventListener('close', (e) => {
      if (!closedByPage || (e.code >= 4000 && e.code <= 4999))
        closes.set(String(socket.url), { code: e.code, reason: e.reason, at: performance.now() });
    });
    return socket;
  } as unknown as typeof WebSocket;
  Object.assign(Recording, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  Recording.prototype = Native.prototype;
  window.WebSocket = Recording;
}

/** The last close of a WebSocket to `url`, if any (the proxy's reason when it closed it). */
export function lastClose(url: string): CloseRecord | undefined {
  return closes.get(new URL(url, location.href).href);
}
