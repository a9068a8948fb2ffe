// Calls to Porthole's HTTP API. Every failure becomes an ApiError carrying the server's sentence.

export interface Principal {
  username: string;
  roles: string[];
  groups: string[];
}

export interface DesktopSummary {
  id: string;
  name: string;
  hypervisor: string;
  state: string;
  protocols: string[];
}

export interface Attempt {
  protocol: string;
  url: string;
  token: string;
  expiresAt: string;
  /** RDP only: the desktop's host:port, which the RDCleanPath request must name. */
  destination?: string;
}

export interface LiveSession {
  id: string;
  user: string;
  desktop: string;
  protocol: string;
  startedAt: string;
  watchers: string[];
}

export interface ShadowNotice {
  requestId: string;
  asker: string;
  desktop: string;
  control: boolean;
  state: 'pending' | 'accepted';
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
  /** The desktops, and the hosts that could not be read (their desktops are missing from the list). */
  desktops: async () => {
    const { data, headers } = await exchange<DesktopSummary[]>('GET', '/api/desktops');
    const unreachable = (headers.get('porthole-unreachable-hypervisors') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return { desktops: data, unreachable };
  },
  connect: (id: string, options: { protocols?: string[]; viewOnly?: boolean } = {}) =>
    call<{ attempts: Attempt[] }>('POST', `/api/desktops/${encodeURIComponent(id)}/connect`, {
      ...(options.protocols ? { protocols: options.protocols } : {}),
      ...(options.viewOnly ? { viewOnly: true } : {}),
    }),
  sessions: () => call<LiveSession[]>('GET', '/api/sessions'),
  askToWatch: (sessionId: string, control: boolean) =>
    call<{ requestId: string }>('POST', `/api/sessions/${encodeURIComponent(sessionId)}/shadow`, { control }),
  shadow: (requestId: string) =>
    call<{ state: string; attempts?: Attempt[] }>('GET', `/api/shadow/${encodeURIComponent(requestId)}`),
  myShadowing: () => call<ShadowNotice[]>('GET', '/api/shadow'),
  answerShadow: (requestId: string, accept: boolean) => call<void>('POST', `/api/shadow/${encodeURIComponent(requestId)}/answer`, { accept }),
  endShadow: (requestId: string) => call<void>('DELETE', `/api/shadow/${encodeURIComponent(requestId)}`),
};
