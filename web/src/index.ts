// The start page: sign in, then the list of desktops this user may open.
import { api, ApiError, type DesktopSummary, type OidcFailure } from './api.js';
import { protocolLabel } from './protocols.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const signin = $('signin');
const desktops = $('desktops');
const form = $<HTMLFormElement>('signin-form');
const signinError = $('signin-error');
const list = $('desktop-list');
const listStatus = $('desktops-status');

const params = new URLSearchParams(location.search);
/** The page first asked for (a viewer's deep link), to land on once signed in: a path here, nothing else. */
const returnTo = (() => {
  const value = params.get('return') ?? '';
  return value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '';
})();

/** Why an OpenID sign-in came back without signing in (the callback's `signInError`), in words. */
const OIDC_FAILURES: Record<OidcFailure, (label: string) => string> = {
  state: () =>
    'That sign-in could not be finished: it was not started in this browser, was used already, or took longer than 10 minutes. Please sign in again.',
  cancelled: (label) => `The sign-in with ${label} was cancelled or refused. Please try again.`,
  unverified: (label) =>
    `Porthole could not verify the answer from ${label}, so nobody was signed in. Please sign in again; if it keeps happening, tell your administrator.`,
  expired: (label) =>
    `The answer from ${label} had expired when it arrived, so nobody was signed in. Please sign in again; if it keeps happening, tell your administrator (a server's clock may be wrong).`,
  unreachable: (label) =>
    `${label} cannot be reached right now, so Porthole cannot sign you in with it. Try again in a few minutes; if it goes on, tell your administrator.`,
  'no-name': (label) => `${label} did not tell Porthole your user name, so you cannot sign in with it. Tell your administrator.`,
  'local-name': (label) =>
    `Your ${label} name belongs to an account of this Porthole server: sign in with that account's user name and password instead.`,
  unavailable: () => 'This Porthole server is restarting and takes no new sign-ins. Try again in a minute.',
};

/** "Sign in with <label>" when an OpenID provider is configured; the deep link travels along. */
async function offerOidc(): Promise<string> {
  const options = await api.signInOptions().catch(() => undefined);
  const oidc = options?.oidc;
  if (!oidc) return 'your account provider';
  const link = $<HTMLAnchorElement>('signin-oidc-link');
  link.textContent = `Sign in with ${oidc.label}`;
  link.href = returnTo ? `${oidc.url}?return=${encodeURIComponent(returnTo)}` : oidc.url;
  $('signin-oidc').hidden = false;
  return oidc.label;
}

function showSignIn(message = ''): void {
  desktops.hidden = true;
  signin.hidden = false;
  signinError.textContent = message;
  $<HTMLInputElement>('username').focus();
  void offerOidc().then((label) => {
    const failure = params.get('signInError') as OidcFailure | null;
    if (!message && failure) signinError.textContent = (OIDC_FAILURES[failure] ?? OIDC_FAILURES.unverified)(label);
  });
}

function item(d: DesktopSummary): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'desktop';
  li.dataset.desktopId = d.id;
  const name = document.createElement('h2');
  name.textContent = d.name; // text, never HTML: names come from libvirt
  const meta = document.createElement('p');
  meta.className = 'meta';
  const state = document.createElement('span');
  state.className = `state state-${d.state.replace(/\s+/g, '-')}`;
  state.textContent = d.state;
  const protocols = document.createElement('span');
  protocols.className = 'protocols';
  protocols.textContent = d.protocols.length ? d.protocols.map(protocolLabel).join(' · ') : 'no display';
  meta.append(state, protocols, `on ${d.hypervisor}`);
  const open = document.createElement('button');
  open.className = 'open';
  open.type = 'button';
  open.textContent = 'Open';
  const runnable = d.state === 'running' && d.protocols.length > 0;
  const startable = d.power && (d.state === 'shut off' || d.state === 'crashed');
  if (startable) {
    // Started from here; the list then follows its state until it runs.
    open.textContent = 'Start';
    open.classList.add('start');
    const why = document.createElement('p');
    why.className = 'why';
    why.textContent = `This desktop is ${d.state}. Start it, then open it once it runs.`;
    open.addEventListener('click', () => {
      open.disabled = true;
      why.textContent = 'Starting…';
      api.power(d.id, 'start').then(
        () => followStates(),
        (error: Error) => {
          why.textContent = error.message;
          open.disabled = false;
        },
      );
    });
    li.append(name, meta, why, open);
  } else if (!runnable) {
    open.disabled = true;
    open.title =
      d.state !== 'running'
        ? `This desktop is ${d.state}. Ask your administrator to start it.`
        : 'This desktop has no display Porthole can open.';
    const why = document.createElement('p');
    why.className = 'why';
    why.textContent = open.title;
    li.append(name, meta, why, open);
  } else {
    open.addEventListener('click', () => {
      location.href = `/viewer.html?desktop=${encodeURIComponent(d.id)}`;
    });
    li.append(name, meta, open);
  }
  return li;
}

/** States a desktop passes through; while one shows, the list reads them again soon. */
const PASSING = new Set(['starting', 'shutting down', 'rebooting', 'blocked', 'unknown']);
let followUntil = 0;
let followTimer: ReturnType<typeof setTimeout> | undefined;

/** Reads the list again every two seconds for a while, so that a desktop's state shows as it changes. */
function followStates(forMs = 120_000): void {
  followUntil = Math.max(followUntil, Date.now() + forMs);
  clearTimeout(followTimer);
  followTimer = setTimeout(() => void showDesktops(), 2000);
}

async function showDesktops(): Promise<void> {
  let items: DesktopSummary[];
  let unreachable: string[];
  try {
    ({ desktops: items, unreachable } = await api.desktops());
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showSignIn();
    signin.hidden = true;
    desktops.hidden = false;
    listStatus.textContent = (error as Error).message;
    return;
  }
  signin.hidden = true;
  desktops.hidden = false;
  list.replaceChildren(...items.map(item));
  if (!$('who').textContent)
    api.me().then(
      (who) => ($('who').textContent = who.username),
      () => {},
    );
  clearTimeout(followTimer);
  if (Date.now() < followUntil || items.some((d) => PASSING.has(d.state))) followTimer = setTimeout(() => void showDesktops(), 2000);
  // Helpdesk and admin see live sessions; for others this answers 403 and the link stays hidden.
  api.sessions().then(
    () => {
      $('helpdesk-link').hidden = false;
    },
    () => {},
  );
  listStatus.textContent =
    unreachable.length > 0
      ? `Some desktops may be missing: Porthole cannot reach ${unreachable.length === 1 ? 'the host' : 'the hosts'} ${unreachable.join(', ')} right now. Reload in a minute; if they stay missing, tell your administrator.`
      : items.length === 0
        ? 'No desktops are assigned to you yet. Ask your teacher or administrator.'
        : '';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const button = $<HTMLButtonElement>('signin-submit');
  signinError.textContent = '';
  const username = $<HTMLInputElement>('username').value.trim();
  const password = $<HTMLInputElement>('password').value;
  // Said here, in words, rather than by the server's schema ("body/username must NOT have…").
  const missing = !username ? 'username' : !password ? 'password' : undefined;
  if (missing) {
    signinError.textContent = missing === 'username' ? 'Enter your user name.' : 'Enter your password.';
    $(missing).focus();
    return;
  }
  button.disabled = true;
  api
    .login(username, password)
    .then(
      async (who) => {
        $<HTMLInputElement>('password').value = '';
        if (returnTo) {
          location.href = returnTo;
          return;
        }
        $('who').textContent = who.username;
        await showDesktops();
      },
      (error: Error) => {
        signinError.textContent = error.message;
      },
    )
    .finally(() => {
      button.disabled = false;
    });
});

$('signout').addEventListener('click', () => {
  api.logout().finally(() => {
    $('who').textContent = '';
    showSignIn('You are signed out.');
  });
});

void showDesktops();
