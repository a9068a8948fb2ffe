// Calls to Porthole's HTTP API. Every failure becomes an ApiError carrying the server's sentence.

// The API's types come from its schemas (contract/api), the same ones the server validates with;
// only types are imported, so no schema code reaches the bundle.
import type { Attempt, DesktopSummary } from '../../contract/api/desktops.js';
import type { LiveSessionSummary } from '../../contract/api/sessions.js';
import type { ShadowNotice, ShadowStatus } from '../../contract/api/shadowing.js';
import type { OidcFailure, Principal, SignInOptions } from '../../contract/api/sign-in.js';
import { UNREACHABLE_HEADER } from '../../contract/api/headers.js';

export type { Attempt, DesktopSummary, LiveSessionSummary as LiveSession, OidcFailure, Principal, ShadowNotice, SignInOptions };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One call: its answer's body, or an ApiError with the server's sentence (the admin console's calls use it too). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await exchange<T>(method, path, body)).data;
}

/** A call, with the answer's headers for the few calls that say something beside the body. */
async function exchange<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: method === 'GET' ? {} : { 'Content-Type': 'application/json' },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
  } catch {
    throw new ApiError(0, 'Porthole cannot be reached. Check your network connection and try again.');
  }
  if (response.status === 204) return { data: undefined as T, headers: response.headers };
  const data = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new ApiError(response.status, data.error ?? `Porthole answered ${response.status}.`);
  return { data: data as T, headers: response.headers };
}

export const api = {
  login: (username: string, password: string) => call<Principal>('POST', '/api/login', { username, password }),
  logout: () => call<void>('POST', '/api/logout'),
  /** Whether "Sign in with <label>" is offered (an OpenID provider is configured). */
  signInOptions: () => call<SignInOptions>('GET', '/api/login/options'),
  /** The desktops, and the hosts that could not be read (their desktops are missing from the list). */
  desktops: async () => {
    const { data, headers } = await exchange<DesktopSummary[]>('GET', '/api/desktops');
    const unreachable = (headers.get(UNREACHABLE_HEADER) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { desktops: data, unreachable };
  },
  connect: (id: string, options: { protocols?: string[]; viewOnly?: boolean } = {}) =>
    call<{ attempts: Attempt[] }>('POST', `/api/desktops/${encodeURIComponent(id)}/connect`, {
      ...(options.protocols ? { protocols: options.protocols } : {}),
      ...(options.viewOnly ? { viewOnly: true } : {}),
    }),
  /** Who is signed in (the name after a reload); 401 when nobody is. */
  me: () => call<Principal>('GET', '/api/me'),
  /** Starts, restarts (ACPI) or shuts down a desktop; the list then shows its state as it changes. */
  power: (id: string, action: 'start' | 'reboot' | 'shutdown') =>
    call<{ state: string }>('POST', `/api/desktops/${encodeURIComponent(id)}/${action}`),
  sessions: () => call<LiveSessionSummary[]>('GET', '/api/sessions'),
  askToWatch: (sessionId: string, control: boolean) =>
    call<{ requestId: string }>('POST', `/api/sessions/${encodeURIComponent(sessionId)}/shadow`, { control }),
  shadow: (requestId: string) => call<ShadowStatus>('GET', `/api/shadow/${encodeURIComponent(requestId)}`),
  myShadowing: () => call<ShadowNotice[]>('GET', '/api/shadow'),
  answerShadow: (requestId: string, accept: boolean) =>
    call<void>('POST', `/api/shadow/${encodeURIComponent(requestId)}/answer`, { accept }),
  endShadow: (requestId: string) => call<void>('DELETE', `/api/shadow/${encodeURIComponent(requestId)}`),
};
