// The admin console (/admin): live sessions, users, hypervisors, desktops, the audit trail and
// RDP certificate pins. Administrators only: the page asks who is signed in first, offers the
// sign-in when nobody is, and says so plainly to anyone else (the API refuses them anyway).
import { api, ApiError } from '../api.js';
import { adminApi, type DesktopSummary, type Principal } from './admin-api.js';
import { offerDesktops, searchAudit } from './audit.js';
import { desktopRows, hypervisorRows } from './inventory.js';
import { pinRows } from './pins.js';
import { sessionRows } from './sessions.js';
import { userRows } from './users.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
/** Sessions, users and hosts change by themselves: the page follows them without a reload. */
const REFRESH_MS = 5000;
const status = $('admin-status');
let refresher: ReturnType<typeof setInterval> | undefined;

function show(section: 'signin' | 'refusal' | 'console'): void {
  for (const id of ['signin', 'refusal', 'console']) $(id).hidden = id !== section;
}

function report(message: string): void {
  status.textContent = message;
}

/** Each part loads on its own: a host that cannot be read leaves the sessions and users shown. */
async function part<T>(what: string, load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      stop();
      show('signin');
      return undefined;
    }
    report(`${what}: ${(error as Error).message}`);
    return undefined;
  }
}

async function refresh(): Promise<void> {
  const [sessions, desktops, figures, users, hypervisors, pins] = await Promise.all([
    part('Sessions', adminApi.sessions),
    part('Desktops', adminApi.desktops),
    part('Desktop figures', adminApi.figures),
    part('Users', adminApi.users),
    part('Hypervisors', adminApi.hypervisors),
    part('RDP certificates', adminApi.pins),
  ]);
  const byId = new Map<string, DesktopSummary>((desktops ?? []).map((d) => [d.id, d]));
  if (sessions) sessionRows(sessions, byId, report, () => void refresh());
  if (users) userRows(users, report, () => void refresh());
  if (hypervisors) hypervisorRows(hypervisors);
  if (desktops) {
    desktopRows(desktops, sessions ?? [], figures ?? []);
    offerDesktops(desktops);
  }
  if (pins)
    pinRows(
      pins,
      (id) => byId.get(id)?.name ?? id,
      report,
      () => void refresh(),
    );
}

function stop(): void {
  if (refresher) clearInterval(refresher);
  refresher = undefined;
}

async function open(who: Principal): Promise<void> {
  if (!who.roles.includes('admin')) {
    $('refusal-text').textContent =
      `This page is for administrators. You are signed in as ${who.username}, who is ${who.roles.includes('helpdesk') ? 'helpdesk staff' : 'a user'}; ask an administrator if you need it.`;
    show('refusal');
    return;
  }
  $('who').textContent = who.username;
  show('console');
  await refresh(); // the desktops' names first, for the trail
  await searchAudit();
  stop();
  refresher = setInterval(() => {
    // Not under an open confirmation, nor in a hidden tab.
    if (!document.hidden && !$<HTMLDialogElement>('confirm').open) void refresh();
  }, REFRESH_MS);
}

async function start(): Promise<void> {
  try {
    await open(await adminApi.me());
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      show('signin');
      $<HTMLInputElement>('username').focus();
      return;
    }
    $('refusal-text').textContent = (error as Error).message;
    show('refusal');
  }
}

$<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const error = $('signin-error');
  error.textContent = '';
  api.login($<HTMLInputElement>('username').value, $<HTMLInputElement>('password').value).then(
    (who) => {
      $<HTMLInputElement>('password').value = '';
      void open(who);
    },
    (e: Error) => {
      error.textContent = e.message;
    },
  );
});

$('signout').addEventListener('click', () => {
  stop();
  void api.logout().finally(() => show('signin'));
});

void start();
