// SPICE sessions as the proxy sees them: one token opens one main channel; the server then
// assigns a session id (in SPICE_MSG_MAIN_INIT), and the session's other channels must carry
// that id as their connection id while the main channel lives. With shared state the other
// channels may arrive through another process or node: hence a store, asynchronous.
import { CloseCode } from '../../contract/close-codes.js';
import { ProxyError } from '../close.js';

/** Where a SPICE session's binding is kept: its session id, its open channels, whether it ended. */
export interface SpiceSessionStore {
  /** The main channel of this token is linking. */
  begin(jti: string): Promise<void>;
  setSessionId(jti: string, id: number): Promise<void>;
  /** Whether the token's main channel is linking or live. */
  isLive(jti: string): Promise<boolean>;
  /** The id the server gave the main channel, waiting for it while the main channel links. Throws ProxyError. */
  sessionId(jti: string, timeoutMs: number): Promise<number>;
  /** Records a channel (`type:id`); false when it is open already (a duplicate). */
  addChannel(jti: string, channel: string): Promise<boolean>;
  removeChannel(jti: string, channel: string): Promise<void>;
  end(jti: string): Promise<void>;
}

export function sessionEnded(): ProxyError {
  return new ProxyError(
    CloseCode.badToken,
    'This SPICE session has ended. Open the desktop again from your list.',
    'SPICE channel for an ended session',
  );
}

export function sessionLate(): ProxyError {
  return new ProxyError(
    CloseCode.protocolError,
    'The SPICE session did not start in time.',
    "SPICE channel waited for the main channel's session id",
  );
}

class SpiceSession {
  sessionId: number | undefined;
  readonly waiters: Array<{ resolve: (id: number) => void; reject: (e: Error) => void }> = [];
  /** `type:id` of each channel opened so far, to refuse a duplicate. */
  readonly channels = new Set<string>();
}

/** One process's SPICE sessions, in memory. */
export class SpiceSessions implements SpiceSessionStore {
  readonly #byToken = new Map<string, SpiceSession>();

  async begin(jti: string): Promise<void> {
    this.#byToken.set(jti, new SpiceSession());
  }

  async setSessionId(jti: string, id: number): Promise<void> {
    const session = this.#byToken.get(jti);
    if (!session) return;
    session.sessionId = id;
    for (const w of session.waiters.splice(0)) w.resolve(id);
  }

  async isLive(jti: string): Promise<boolean> {
    return this.#byToken.has(jti);
  }

  sessionId(jti: string, timeoutMs: number): Promise<number> {
    const session = this.#byToken.get(jti);
    if (!session) return Promise.reject(sessionEnded());
    if (session.sessionId !== undefined) return Promise.resolve(session.sessionId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(sessionLate()), timeoutMs);
      session.waiters.push({
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

  async addChannel(jti: string, channel: string): Promise<boolean> {
    const session = this.#byToken.get(jti);
    if (!session || session.channels.has(channel)) return false;
    session.channels.add(channel);
    return true;
  }

  async removeChannel(jti: string, channel: string): Promise<void> {
    this.#byToken.get(jti)?.channels.delete(channel);
  }

  async end(jti: string): Promise<void> {
    const session = this.#byToken.get(jti);
    this.#byToken.delete(jti);
    for (const w of session?.waiters.splice(0) ?? []) w.reject(sessionEnded());
  }

  get size(): number {
    return this.#byToken.size;
  }
}
