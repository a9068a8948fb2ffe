// The name a sign-in attempt is counted under (lockout, rate limit). Directories compare names
// without case and insignificant spaces (LDAP's caseIgnoreMatch: "Dana ", "DANA" and "dana" are
// one user), so variants of one name must share one count, or each would get its own guesses.
export function countedName(username: string): string {
  return username.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}
