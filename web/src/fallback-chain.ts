// Tries a desktop's protocols in order until one shows a picture, as Guacamole's ChainedTunnel
// does for tunnels: the first attempt that reaches its first frame wins; each failure is kept
// with its reason so the user learns why. A protocol without a connector is skipped, with a
// reason; a new protocol is one more connector.
import type { Attempt } from './api.js';
import type { Connector, RemoteSession } from './connectors/connector.js';

export interface Fallback {
  protocol: string;
  reason: string;
}

export interface ChainEvents {
  /** An attempt starts (for progress: "Connecting over SPICE…"). */
  trying(connector: Connector, index: number, total: number): void;
  failed(fallback: Fallback): void;
  /** A connector asks the person for something first (for progress: "Waiting for your sign-in…"). */
  preparing?(connector: Connector): void;
}

export class ChainFailed extends Error {
  constructor(readonly fallbacks: Fallback[]) {
    super(fallbacks.map((f) => `${f.protocol.toUpperCase()}: ${f.reason}`).join(' '));
  }
}

export class FallbackChain {
  constructor(
    readonly connectors: readonly Connector[],
    /** New tokens for protocols whose token expired before their turn. */
    readonly renew: (protocols: string[]) => Promise<Attempt[]>,
    readonly timeoutMs = 10_000,
  ) {}

  async open(
    attempts: Attempt[],
    screen: HTMLElement,
    events: ChainEvents,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<{ session: RemoteSession; fallbacks: Fallback[] }> {
    const fallbacks: Fallback[] = [];
    const queue = [...attempts];
    for (let i = 0; i < queue.length; i++) {
      let attempt = queue[i]!;
      const connector = this.connectors.find((c) => c.protocol === attempt.protocol);
      if (!connector) {
        const f = { protocol: attempt.protocol, reason: 'this browser client does not support it yet' };
        fallbacks.push(f);
        events.failed(f);
        continue;
      }
      if (connector.prepare) {
        events.preparing?.(connector);
        try {
          await connector.prepare(attempt, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          const f = { protocol: attempt.protocol, reason: (error as Error).message };
          fallbacks.push(f);
          events.failed(f);
          continue;
        }
      }
      if (Date.parse(attempt.expiresAt) - Date.now() < 2000) {
        const fresh = await this.renew(queue.slice(i).map((a) => a.protocol));
        queue.splice(i, queue.length - i, ...fresh);
        attempt = queue[i]!;
        if (!attempt || attempt.protocol !== connector.protocol) {
          i--;
          continue;
        }
      }
      events.trying(connector, i, queue.length);
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new Error(`no picture within ${Math.round(this.timeoutMs / 1000)} seconds`)),
        this.timeoutMs,
      );
      try {
        const session = await connector.connect(attempt, screen, controller.signal);
        return { session, fallbacks };
      } catch (error) {
        controller.abort(error);
        const f = { protocol: attempt.protocol, reason: (error as Error).message };
        fallbacks.push(f);
        events.failed(f);
      } finally {
        clearTimeout(timer);
      }
    }
    throw new ChainFailed(fallbacks);
  }
}
