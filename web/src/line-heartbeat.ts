// Notices a line that stopped carrying anything while the desktop's WebSocket still looks open:
// a Wi-Fi that dropped without a word, a laptop lid opened after a sleep, a NAT that forgot the
// connection. TCP can take minutes to notice, and a still picture over SPICE or VNC sends
// nothing, so the page would show a frozen desktop as "Connected". A small request to the
// gateway every few seconds tells: any answer (even 503 while it drains) means the line works.

export interface HeartbeatOptions {
  intervalMs?: number;
  /** How long one probe may take before it counts as missed (a slow line still answers). */
  timeoutMs?: number;
  /** Missed probes in a row that make a stall. */
  misses?: number;
}

/** Calls `stalled` once when the line stops answering; returns a function that stops watching. */
export function watchLine(stalled: (reason: string) => void, options: HeartbeatOptions = {}): () => void {
  const { intervalMs = 2500, timeoutMs = 4000, misses = 2 } = options;
  let missed = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    removeEventListener('offline', offline);
  };
  const report = (reason: string) => {
    if (stopped) return;
    stop();
    stalled(reason);
  };
  const offline = () => report('the browser went offline');
  addEventListener('offline', offline);
  const probe = async () => {
    if (stopped) return;
    try {
      await fetch('/healthz', { cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(timeoutMs) });
      missed = 0;
    } catch {
      if (++missed >= misses) return report('the line stopped answering');
    }
    if (!stopped) timer = setTimeout(() => void probe(), intervalMs);
  };
  timer = setTimeout(() => void probe(), intervalMs);
  return stop;
}
