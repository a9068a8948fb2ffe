// What the viewer does when a working session's connection ends, read from the proxy's close
// code: reconnect by itself after what it can recover from (the line, a restart, a drain, the
// display going away for a moment), or stop and say what happened when the end was meant (signed
// out, ended by an administrator, taken over, idle). Codes are contract/close-codes.ts's.
import { CloseCode } from '../../contract/close-codes.js';

export interface SessionEnd {
  /** The WebSocket close code, when the proxy or the browser gave one. */
  code?: number;
  reason: string;
}

export type Ending =
  | { reconnect: true }
  | {
      reconnect: false;
      title: string;
      text: string;
      /** "Open again" makes sense (the person may want it back); not after signing out. */
      openAgain: boolean;
      /** Where to go instead, e.g. the sign-in page. */
      goTo?: string;
    };

/** Ends the person or an administrator meant: no reconnect. */
const MEANT: Partial<Record<number, Omit<Extract<Ending, { reconnect: false }>, 'reconnect' | 'text'> & { text?: string }>> = {
  [CloseCode.takenOver]: { title: 'Opened somewhere else', openAgain: true },
  [CloseCode.endedByAdmin]: { title: 'Session ended by an administrator', openAgain: true },
  [CloseCode.signedOut]: { title: 'Signed out', openAgain: false, goTo: '/' },
  [CloseCode.idle]: { title: 'Closed after a time without use', openAgain: true },
  [CloseCode.maxDuration]: { title: 'Session time is up', openAgain: true },
  [CloseCode.shadowEnded]: { title: 'Screen sharing ended', openAgain: false },
  [CloseCode.forbidden]: {
    title: 'No longer allowed',
    openAgain: false,
    text: 'You may no longer open this desktop. Ask your administrator if you think you should.',
  },
  [CloseCode.unknownDesktop]: { title: 'Desktop removed', openAgain: false },
  [CloseCode.protocolError]: { title: 'Connection closed', openAgain: true },
};

export function describeEnd(end: SessionEnd): Ending {
  const meant = end.code === undefined ? undefined : MEANT[end.code];
  if (!meant) return { reconnect: true };
  return { reconnect: false, ...meant, text: meant.text ?? end.reason };
}

/**
 * What the viewer says while it reconnects: a desktop that moved host is a short notice, not a
 * problem (the proxy says so with `moved`); any other drop counts its attempts.
 */
export function reconnectingTitle(end: SessionEnd, attempt: number): string {
  if (end.code === CloseCode.moved) return attempt <= 1 ? 'Moving to another host…' : `Moving to another host… (attempt ${attempt})`;
  return `Reconnecting… (attempt ${attempt})`;
}

/**
 * Waits between reconnection attempts: quickly at first (a Wi-Fi switch takes a second or two),
 * then backing off so that a thousand viewers do not hammer a restarting gateway together, with
 * jitter to spread them.
 */
export class Backoff {
  static readonly DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
  /** About three minutes of trying before the viewer asks the person. */
  static readonly MAX_ATTEMPTS = 16;
  attempt = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** The delay before the next attempt, or undefined when it is time to give up. */
  next(): number | undefined {
    if (this.attempt >= Backoff.MAX_ATTEMPTS) return undefined;
    const base = Backoff.DELAYS_MS[Math.min(this.attempt, Backoff.DELAYS_MS.length - 1)]!;
    this.attempt++;
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
