// Roles from groups, the same for every kind of directory (LDAP, OpenID Connect): members of the
// configured groups get admin or helpdesk, everyone else is a user. Names compare without case,
// as directories compare them.

/** `directory.<kind>.roles`: the groups that give each role. */
export interface GroupRoles {
  admin: string[];
  helpdesk: string[];
}

export function rolesOf(groups: readonly string[], roles: GroupRoles): string[] {
  const has = (names: string[]) => names.some((n) => groups.some((g) => g.toLowerCase() === n.toLowerCase()));
  const given = [...(has(roles.admin) ? ['admin'] : []), ...(has(roles.helpdesk) ? ['helpdesk'] : [])];
  return given.length > 0 ? given : ['user'];
}
