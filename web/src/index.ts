// The start page: sign in, then the list of desktops this user may open.
import { api, ApiError, type DesktopSummary } from './api.js';
import { protocolLabel } from './protocols.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const signin = $('signin');
const desktops = $('desktops');
const form = $<HTMLFormElement>('signin-form');
const signinError = $('signin-error');
const list = $('desktop-list');
const listStatus = $('desktops-status');

function showSignIn(message = ''): void {
  desktops.hidden = true;
  signin.hidden = false;
  signinError.textContent = message;
  $<HTMLInputElement>('username').focus();
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

/** Where to go after signing in: the page first asked for, if it is one of ours. */
function nextPage(): string | undefined {
  const next = new URLSearchParams(location.search).get('next');
  // A path on this origin only: never `//host`, a backslash trick or another scheme.
  return next && /^\/(?![/\\])/.test(next) && !/[\\\s]/.test(next) ? next : undefined;
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
        const next = nextPage();
        if (next) {
          location.href = next;
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
