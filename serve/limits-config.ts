// `limits` in the PORTHOLE_CONFIG file: how many desktops one user, and all the members of a
// group together, may have open (live display sessions) and running (power start). Every
// mistake is reported with the key's name.
import type { Limits } from '../gateway/limits.js';

const GROUP_KEYS = ['sessions', 'runningDesktops'] as const;
const KEYS = ['sessionsPerUser', 'runningDesktopsPerUser', 'groups'] as const;

export function parseLimits(raw: unknown, fail: (message: string) => Error): Limits {
  if (raw === undefined || raw === null) return { groups: {} };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw fail('limits must be a mapping, e.g. { sessionsPerUser: 2, groups: { class-3b: { sessions: 30 } } }');
  const file = raw as Record<string, unknown>;
  for (const key of Object.keys(file))
    if (!(KEYS as readonly string[]).includes(key)) throw fail(`limits.${key} is not a setting; the settings are ${KEYS.join(', ')}`);
  const count = (value: unknown, key: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw fail(`${key} must be a whole number, 0 or more (leave it out for no limit)`);
    return value;
  };
  const groupsRaw = file.groups ?? {};
  if (typeof groupsRaw !== 'object' || groupsRaw === null || Array.isArray(groupsRaw))
    throw fail('limits.groups must be a mapping of group names, e.g. { class-3b: { sessions: 30, runningDesktops: 30 } }');
  const groups: Limits['groups'] = {};
  for (const [name, entry] of Object.entries(groupsRaw)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw fail(`limits.groups.${name} must be a mapping: { sessions: N, runningDesktops: N }`);
    for (const key of Object.keys(entry))
      if (!(GROUP_KEYS as readonly string[]).includes(key))
        throw fail(`limits.groups.${name}.${key} is not a setting; the settings are ${GROUP_KEYS.join(', ')}`);
    const { sessions, runningDesktops } = entry as Record<string, unknown>;
    const s = count(sessions, `limits.groups.${name}.sessions`);
    const r = count(runningDesktops, `limits.groups.${name}.runningDesktops`);
    groups[name] = { ...(s !== undefined ? { sessions: s } : {}), ...(r !== undefined ? { runningDesktops: r } : {}) };
  }
  const perUser = count(file.sessionsPerUser, 'limits.sessionsPerUser');
  const runningPerUser = count(file.runningDesktopsPerUser, 'limits.runningDesktopsPerUser');
  return {
    ...(perUser !== undefined ? { sessionsPerUser: perUser } : {}),
    ...(runningPerUser !== undefined ? { runningDesktopsPerUser: runningPerUser } : {}),
    groups,
  };
}
