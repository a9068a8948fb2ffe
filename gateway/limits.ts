// Limits per user and per group (`limits` in the configuration): how many desktops may be open
// at once (counted on the proxy's live display sessions) and how many may run (counted on the
// inventory's running desktops, when a user starts one). One desktop counts once however it is
// open: reopened, SPICE's further channels, a second tab on it. Helpdesk watchers do not count,
// and admins are not limited (they are the ones who fix a full class).
import type { Desktop, Principal } from '../contract/desktop.js';
import type { LiveSessionInfo } from '../contract/live-sessions.js';

export interface Limits {
  /** Desktops one user may have open at once. */
  sessionsPerUser?: number;
  /** Desktops naming one user that may run at once (power start). */
  runningDesktopsPerUser?: number;
  /** Per group: open desktops of all its members together, and running desktops naming it. */
  groups: Record<string, { sessions?: number; runningDesktops?: number }>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const desktops = (n: number) => `${n} desktop${n === 1 ? '' : 's'}`;

/** The configured group limits that apply to these group names, with the name as configured. */
function groupLimits(limits: Limits, groups: readonly string[], kind: 'sessions' | 'runningDesktops'): Array<[string, number]> {
  return Object.entries(limits.groups).flatMap(([name, entry]) => {
    const limit = entry[kind];
    return limit !== undefined && groups.some((g) => same(g, name)) ? [[name, limit] as [string, number]] : [];
  });
}

/**
 * Why `who` may not open `desktop` now, as a sentence naming the limit; undefined when they may.
 * @param live the live display sessions (of every node, where they are shared)
 */
export function openLimitReached(limits: Limits, who: Principal, desktop: string, live: readonly LiveSessionInfo[]): string | undefined {
  if (who.roles.includes('admin')) return undefined;
  const open = live.filter((s) => !s.shadow);
  // Already open (another tab, a reconnect, a further channel): opening it again adds nothing.
  if (open.some((s) => s.user === who.username && s.desktop === desktop)) return undefined;
  if (limits.sessionsPerUser !== undefined) {
    const mine = new Set(open.filter((s) => s.user === who.username).map((s) => s.desktop));
    if (mine.size >= limits.sessionsPerUser) {
      return limits.sessionsPerUser === 0
        ? 'You may not open desktops here (limits.sessionsPerUser is 0). Ask your administrator.'
        : `You already have ${desktops(mine.size)} open, the most one person may have at once (limits.sessionsPerUser is ${limits.sessionsPerUser}). Close one of them (its tab or window), then open this one again.`;
    }
  }
  for (const [group, limit] of groupLimits(limits, who.groups, 'sessions')) {
    const theirs = new Set(open.filter((s) => s.groups.some((g) => same(g, group))).map((s) => `${s.user}\n${s.desktop}`));
    if (theirs.size >= limit) {
      return `The members of ${group} have ${desktops(theirs.size)} open, the most they may have at once together (limits.groups.${group}.sessions is ${limit}). Try again once someone in ${group} has closed one, or ask your teacher or administrator.`;
    }
  }
  return undefined;
}

/** Whether a desktop takes a hypervisor's resources (anything but shut off or crashed). */
const takesResources = (d: Pick<Desktop, 'state'>) => d.state !== 'shut off' && d.state !== 'crashed';

/**
 * Why `who` may not start `desktop` now, as a sentence naming the limit; undefined when they may.
 * Counted from the metadata: the running desktops that name the user (when `desktop` names
 * them) and, per group `desktop` names with a limit, the running desktops that name that group.
 */
export function runningLimitReached(
  limits: Limits,
  who: Principal,
  desktop: Pick<Desktop, 'id' | 'users' | 'groups'>,
  all: readonly Desktop[],
): string | undefined {
  if (who.roles.includes('admin')) return undefined;
  const running = all.filter((d) => d.id !== desktop.id && takesResources(d));
  if (limits.runningDesktopsPerUser !== undefined && desktop.users.includes(who.username)) {
    const n = running.filter((d) => d.users.includes(who.username)).length;
    if (n >= limits.runningDesktopsPerUser) {
      return `${desktops(n)} of yours ${n === 1 ? 'is' : 'are'} running already, the most that may run at once (limits.runningDesktopsPerUser is ${limits.runningDesktopsPerUser}). Shut one of them down first, or ask your administrator.`;
    }
  }
  for (const [group, limit] of groupLimits(limits, desktop.groups, 'runningDesktops')) {
    const n = running.filter((d) => d.groups.some((g) => same(g, group))).length;
    if (n >= limit) {
      return `${desktops(n)} of ${group} ${n === 1 ? 'is' : 'are'} running already, the most that may run at once (limits.groups.${group}.runningDesktops is ${limit}). Shut one of them down first, or ask your teacher or administrator.`;
    }
  }
  return undefined;
}
