// `directory.ldap` and `directory.oidc` in the PORTHOLE_CONFIG file, checked key by key: every
// mistake is reported with the key's name and what to write instead. The bind password comes
// from PORTHOLE_LDAP_BIND_PASSWORD and the client secret from PORTHOLE_OIDC_CLIENT_SECRET only,
// so that neither need be in the file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkFilter } from '../gateway/directory/ldap-filter.js';
import type { GroupRoles } from '../gateway/directory/group-roles.js';
import type { LdapSettings } from '../gateway/directory/ldap-settings.js';
import type { OidcSettings } from '../gateway/directory/oidc-settings.js';

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
): { ldap?: LdapSettings; oidc?: OidcSettings } {
  if (env.PORTHOLE_LDAP_BIND_PASSWORD !== undefined && (raw as { ldap?: { bindDn?: unknown } } | undefined)?.ldap?.bindDn === undefined) {
    throw fail(
      "PORTHOLE_LDAP_BIND_PASSWORD is set but directory.ldap.bindDn is not: set the service account's DN, or unset the password for anonymous search",
    );
  }
  if (env.PORTHOLE_OIDC_CLIENT_SECRET !== undefined && (raw as { oidc?: unknown } | undefined)?.oidc == null) {
    throw fail('PORTHOLE_OIDC_CLIENT_SECRET is set but directory.oidc is not: configure the provider, or unset the secret');
  }
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('directory must be a mapping with ldap and/or oidc in it');
  const { ldap, oidc, ...rest } = raw as { ldap?: unknown; oidc?: unknown };
  for (const key of Object.keys(rest)) throw fail(`directory.${key} is not a setting; the settings are ldap and oidc`);
  return {
    ...(ldap !== undefined && ldap !== null ? { ldap: parseLdap(ldap, env, cwd, fail) } : {}),
    ...(oidc !== undefined && oidc !== null ? { oidc: parseOidc(oidc, env, cwd, fail) } : {}),
  };
}

/** `directory.<kind>.roles`: { admin: [groups], helpdesk: [groups] }. */
function parseRoles(raw: unknown, key: string, fail: (message: string) => Error): GroupRoles {
  const rolesRaw = raw ?? {};
  if (typeof rolesRaw !== 'object' || rolesRaw === null || Array.isArray(rolesRaw))
    throw fail(`${key} must be a mapping: { admin: [it-staff], helpdesk: [helpdesk] }`);
  const roles: GroupRoles = { admin: [], helpdesk: [] };
  for (const [role, groups] of Object.entries(rolesRaw)) {
    if (role !== 'admin' && role !== 'helpdesk')
      throw fail(`${key}.${role}: the roles given by groups are admin and helpdesk (everyone else is a user)`);
    const list = typeof groups === 'string' ? [groups] : groups;
    if (!Array.isArray(list) || !list.every((g) => typeof g === 'string' && g.trim() !== ''))
      throw fail(`${key}.${role} must be a list of group names`);
    roles[role] = list.map((g: string) => g.trim());
  }
  return roles;
}

/** A PEM file of CA certificates, read at start so that a wrong path fails then. */
function readCa(path: string, key: string, cwd: string, fail: (message: string) => Error): Buffer {
  let ca: Buffer;
  try {
    ca = readFileSync(resolve(cwd, path));
  } catch (error) {
    throw fail(`${key}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw fail(`${key} ${path} holds no PEM certificate`);
  return ca;
}

const OIDC_KEYS = [
  'issuer',
  'clientId',
  'label',
  'usernameClaim',
  'groupsClaim',
  'roles',
  'scopes',
  'ca',
  'clockSkewSeconds',
  'timeoutSeconds',
] as const;

/** The most clock skew accepted: beyond it an expired or not-yet-valid ID token would pass for minutes. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

function parseOidc(raw: unknown, env: NodeJS.ProcessEnv, cwd: string, fail: (message: string) => Error): OidcSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail('directory.oidc must be a mapping of settings (issuer, clientId, label, ...)');
  const file = raw as Record<string, unknown>;
  for (const key of Object.keys(file)) {
    if (!(OIDC_KEYS as readonly string[]).includes(key))
      throw fail(`directory.oidc.${key} is not a setting; the settings are ${OIDC_KEYS.join(', ')}`);
  }
  const text = (key: string, fallback?: string): string => {
    const value = file[key] ?? fallback;
    if (value === undefined || value === null) throw fail(`directory.oidc.${key} is missing`);
    if (typeof value !== 'string' || value.trim() === '') throw fail(`directory.oidc.${key} must be a non-empty string`);
    return value.trim();
  };
  const seconds = (key: string, fallback: number, min: number, max: number): number => {
    const value = file[key] ?? fallback;
    if (typeof value !== 'number' || !(value >= min) || value > max)
      throw fail(`directory.oidc.${key} must be a number of seconds from ${min} to ${max}`);
    return value;
  };
  const issuer = text('issuer');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw fail(`directory.oidc.issuer "${issuer}" is not a URL; write the provider's issuer, e.g. https://accounts.google.com`);
  }
  // Tokens and the client secret cross to the provider: never in clear.
  if (url.protocol !== 'https:') throw fail(`directory.oidc.issuer "${issuer}" must be an https:// URL`);
  const scopesRaw = file.scopes ?? ['profile', 'email'];
  const scopes = typeof scopesRaw === 'string' ? scopesRaw.split(/[\s,]+/).filter(Boolean) : scopesRaw;
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
    throw fail('directory.oidc.scopes must be a list of scope names, e.g. [profile, email, groups]');
  const secret = env.PORTHOLE_OIDC_CLIENT_SECRET;
  const caPath = file.ca === undefined || file.ca === null ? undefined : text('ca');
  return {
    issuer,
    clientId: text('clientId'),
    ...(secret ? { clientSecret: secret } : {}),
    label: text('label', 'your school account'),
    usernameClaim: text('usernameClaim', 'preferred_username'),
    groupsClaim: text('groupsClaim', 'groups'),
    roles: parseRoles(file.roles, 'directory.oidc.roles', fail),
    scopes: [...new Set(scopes.filter((s) => s !== 'openid'))],
    ...(caPath ? { ca: readCa(caPath, 'directory.oidc.ca', cwd, fail) } : {}),
    clockSkewSeconds: seconds('clockSkewSeconds', 60, 0, MAX_CLOCK_SKEW_SECONDS),
    timeoutSeconds: seconds('timeoutSeconds', 10, 1, 120),
  };
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
  const ca = caPath ? readCa(caPath, 'directory.ldap.ca', cwd, fail) : undefined;
  const bindDn = text('bindDn');
  const bindPassword = env.PORTHOLE_LDAP_BIND_PASSWORD;
  if (bindDn && !bindPassword)
    throw fail('directory.ldap.bindDn needs its password in PORTHOLE_LDAP_BIND_PASSWORD (omit bindDn for anonymous search)');

  const roles = parseRoles(file.roles, 'directory.ldap.roles', fail);

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
