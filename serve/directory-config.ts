// `directory.ldap` in the PORTHOLE_CONFIG file, checked key by key: every mistake is reported
// with the key's name and what to write instead. The bind password comes from
// PORTHOLE_LDAP_BIND_PASSWORD only, so that it need not be in the file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkFilter } from '../gateway/directory/ldap-filter.js';
import type { LdapSettings } from '../gateway/directory/ldap-settings.js';

const KEYS = [
  'url',
  'startTls',
  'ca',
  'bindDn',
  'userBase',
  'userFilter',
  'groupBase',
  'groupFilter',
  'groupName',
  'roles',
  'nestedGroups',
  'cacheSeconds',
  'timeoutSeconds',
] as const;

export const DEFAULT_USER_FILTER = '(uid={username})';
export const DEFAULT_GROUP_FILTER = '(|(member={dn})(uniqueMember={dn})(memberUid={username}))';

/**
 * @param raw the file's `directory` value
 * @param fail makes the error (serve/config.ts's ConfigError)
 */
export function parseDirectory(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  cwd: string,
  fail: (message: string) => Error,
): { ldap?: LdapSettings } {
  if (env.PORTHOLE_LDAP_BIND_PASSWORD !== undefined && (raw as { ldap?: { bindDn?: unknown } } | undefined)?.ldap?.bindDn === undefined) {
    throw fail(
      "PORTHOLE_LDAP_BIND_PASSWORD is set but directory.ldap.bindDn is not: set the service account's DN, or unset the password for anonymous search",
    );
  }
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('directory must be a mapping with ldap (and oidc) in it');
  const { ldap } = raw as { ldap?: unknown };
  if (ldap === undefined || ldap === null) return {};
  return { ldap: parseLdap(ldap, env, cwd, fail) };
}

function parseLdap(raw: unknown, env: NodeJS.ProcessEnv, cwd: string, fail: (message: string) => Error): LdapSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail('directory.ldap must be a mapping of settings (url, userBase, ...)');
  const file = raw as Record<string, unknown>;
  for (const key of Object.keys(file)) {
    if (!(KEYS as readonly string[]).includes(key))
      throw fail(`directory.ldap.${key} is not a setting; the settings are ${KEYS.join(', ')}`);
  }
  const text = (key: string, required = false): string | undefined => {
    const value = file[key];
    if (value === undefined || value === null) {
      if (required) throw fail(`directory.ldap.${key} is missing`);
      return undefined;
    }
    if (typeof value !== 'string' || value.trim() === '') throw fail(`directory.ldap.${key} must be a non-empty string`);
    return value.trim();
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = file[key] ?? fallback;
    if (typeof value !== 'boolean') throw fail(`directory.ldap.${key} must be true or false`);
    return value;
  };
  const seconds = (key: string, fallback: number, max: number): number => {
    const value = file[key] ?? fallback;
    if (typeof value !== 'number' || !(value > 0) || value > max)
      throw fail(`directory.ldap.${key} must be a number of seconds above 0 and at most ${max}`);
    return value;
  };
  const filter = (key: string, fallback: string, needs: string): string => {
    const value = text(key) ?? fallback;
    if (!value.includes(needs)) throw fail(`directory.ldap.${key} "${value}" must contain ${needs}, e.g. ${fallback}`);
    try {
      checkFilter(value);
    } catch (error) {
      throw fail(`directory.ldap.${key}: ${(error as Error).message}`);
    }
    return value;
  };

  const urls = text('url', true)!
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw fail(`directory.ldap.url "${url}" is not a URL; write ldaps://dc1.school.example or ldap://dc1.school.example:389`);
    }
    if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:')
      throw fail(`directory.ldap.url "${url}" must start with ldap:// or ldaps://`);
    if (parsed.pathname.replace(/^\//, '') || parsed.search)
      throw fail(`directory.ldap.url "${url}" must be only scheme, host and port (the bases are userBase and groupBase)`);
  }
  const startTls = flag('startTls', false);
  for (const url of urls) {
    // Passwords cross to the directory: never in clear.
    if (url.startsWith('ldap://') && !startTls)
      throw fail(`directory.ldap.url "${url}" would send passwords unencrypted: set directory.ldap.startTls: true, or use ldaps://`);
  }
  const caPath = text('ca');
  let ca: Buffer | undefined;
  if (caPath) {
    try {
      ca = readFileSync(resolve(cwd, caPath));
    } catch (error) {
      throw fail(`directory.ldap.ca: cannot read ${caPath}: ${(error as Error).message}`);
    }
    if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw fail(`directory.ldap.ca ${caPath} holds no PEM certificate`);
  }
  const bindDn = text('bindDn');
  const bindPassword = env.PORTHOLE_LDAP_BIND_PASSWORD;
  if (bindDn && !bindPassword)
    throw fail('directory.ldap.bindDn needs its password in PORTHOLE_LDAP_BIND_PASSWORD (omit bindDn for anonymous search)');

  const rolesRaw = file.roles ?? {};
  if (typeof rolesRaw !== 'object' || rolesRaw === null || Array.isArray(rolesRaw))
    throw fail('directory.ldap.roles must be a mapping: { admin: [it-staff], helpdesk: [helpdesk] }');
  const roles = { admin: [] as string[], helpdesk: [] as string[] };
  for (const [role, groups] of Object.entries(rolesRaw)) {
    if (role !== 'admin' && role !== 'helpdesk')
      throw fail(`directory.ldap.roles.${role}: the roles given by groups are admin and helpdesk (everyone else is a user)`);
    const list = typeof groups === 'string' ? [groups] : groups;
    if (!Array.isArray(list) || !list.every((g) => typeof g === 'string' && g.trim() !== ''))
      throw fail(`directory.ldap.roles.${role} must be a list of group names`);
    roles[role] = list.map((g: string) => g.trim());
  }

  return {
    urls,
    startTls,
    ...(ca ? { ca } : {}),
    ...(bindDn ? { bindDn, bindPassword: bindPassword! } : {}),
    userBase: text('userBase', true)!,
    userFilter: filter('userFilter', DEFAULT_USER_FILTER, '{username}'),
    ...(text('groupBase') ? { groupBase: text('groupBase')! } : {}),
    groupFilter: filter('groupFilter', DEFAULT_GROUP_FILTER, '{'),
    groupName: text('groupName') ?? 'cn',
    roles,
    nestedGroups: flag('nestedGroups', false),
    cacheSeconds: seconds('cacheSeconds', 300, 86_400),
    timeoutSeconds: seconds('timeoutSeconds', 5, 120),
  };
}
