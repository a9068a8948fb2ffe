// Reading LDAP entries: attribute values whatever the server's spelling of the attribute's name,
// and the value of a DN's first RDN (a group's cn in a memberOf value).

type EntryLike = { dn: string; [attribute: string]: Buffer | Buffer[] | string[] | string };

/** Every value of `attribute` (case-insensitive, as LDAP attribute names are). */
export function valuesOf(entry: EntryLike, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const value = entry[key]!;
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** `helpdesk` from `cn=helpdesk,ou=groups,...` when the first RDN's attribute is `attribute`; RFC 4514 escapes undone. */
export function firstRdnValue(dn: string, attribute: string): string | undefined {
  let rdn = '';
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') {
      rdn += dn.slice(i, i + 2);
      i++;
      continue;
    }
    if (dn[i] === ',' || dn[i] === '+') break;
    rdn += dn[i];
  }
  const eq = rdn.indexOf('=');
  if (eq < 0 || rdn.slice(0, eq).trim().toLowerCase() !== attribute.toLowerCase()) return undefined;
  const raw = rdn.slice(eq + 1).trim();
  // \XX hex pairs are UTF-8 bytes; \c is the character itself.
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    if (raw[i] === '\\') i++;
    bytes.push(...Buffer.from(raw[i] ?? '', 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
