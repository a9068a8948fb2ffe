// SPICE sessions as the proxy sees them: one token opens one main channel; the server then
// assigns a session id (in SPICE_MSG_MAIN_INIT), and the session's other channels must carry
// that id as their connection id while the main channel lives.
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';
import type { DisplayTokenClaims } from '../../contract/display-token.js';

export class SpiceSession {
  #sessionId: number | undefined;
  #ended = false;
  #waiters: Array<{ resolve: (id: number) => void; reject: (e: Error) => void }> = [];
  /** `type:id` of each channel opened so far, to refuse a duplicate. */
  readonly channels = new Set<string>();

  constructor(readonly claims: DisplayTokenClaims) {}

  get ended(): boolean {
    return this.#ended;
  }

  setSessionId(id: number): void {
    this.#sessionId = id;
    for (const w of this.#waiters.splice(0)) w.resolve(id);
  }

  /** The id the server gave the main channel, waiting for it if the main channel is still linking. */
  sessionId(timeoutMs: number): Promise<number> {
    if (this.#ended) return Promise.reject(ended());
    if (this.#sessionId !== undefined) return Promise.resolve(this.#sessionId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ProxyError(
              CloseCode.protocolError,
              'The SPICE session did not start in time.',
              "SPICE channel waited for the main channel's session id",
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        resolve: (id) => {
          clearTimeout(timer);
          resolve(id);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  end(): void {
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w.reject(ended());
  }
}

function ended(): ProxyError {
  return new ProxyError(
    CloseCode.badToken,
    'This SPICE session has ended. Open the desktop again from your list.',
    'SPICE channel for an ended session',
  );
}

export class SpiceSessions {
  readonly #byToken = new Map<string, SpiceSession>();

  begin(claims: DisplayTokenClaims): SpiceSession {
    const session = new SpiceSession(claims);
    this.#byToken.set(claims.jti, session);
    return session;
  }

  get(jti: string): SpiceSession | undefined {
    return this.#byToken.get(jti);
  }

  end(jti: string): void {
    this.#byToken.get(jti)?.end();
    this.#byToken.delete(jti);
  }

  get size(): number {
    return this.#byToken.size;
  }
}
