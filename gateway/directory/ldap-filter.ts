// The configured filters with the user's name and DN put in, each value escaped (RFC 4515,
// ldapts' Filter.escape: * ( ) \ NUL), so that a typed name cannot change the filter's shape.
import { Filter, FilterParser } from 'ldapts';

export interface FilterValues {
  username: string;
  dn?: string;
}

/** `template` with `{username}` and `{dn}` replaced by their escaped values. */
export function fillFilter(template: string, values: FilterValues): string {
  return template.replace(/\{(username|dn)\}/g, (_, key: 'username' | 'dn') => Filter.escape(values[key] ?? ''));
}

/** Throws with the parser's reason when `template`, filled with sample values, is not a filter. */
export function checkFilter(template: string): void {
  const filled = fillFilter(template, { username: 'sample', dn: 'cn=sample,dc=example' });
  if (!filled.startsWith('(') || !filled.endsWith(')'))
    throw new Error(`"${template}" must be an LDAP filter in parentheses, e.g. (uid={username})`);
  // ldapts' parser lets an unclosed parenthesis pass; the values are escaped, so count them.
  let depth = 0;
  for (const c of filled) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) throw new Error(`"${template}" is not an LDAP filter: its parentheses do not pair up`);
  try {
    FilterParser.parseString(filled);
  } catch (error) {
    throw new Error(`"${template}" is not an LDAP filter: ${(error as Error).message}`, { cause: error });
  }
}

/** The attribute a filter such as `(uid={username})` or `(&(objectClass=user)(sAMAccountName={username}))` matches the name against. */
export function usernameAttribute(template: string): string | undefined {
  return /\(([A-Za-z][A-Za-z0-9-]*)=\{username\}\)/.exec(template)?.[1];
}
