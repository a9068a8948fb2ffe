// What the admin console reads beside sessions, desktops, the audit trail and RDP pins: the
// users (local, and directory users seen signing in) and the hypervisors' health.
import { Type, type Static } from 'typebox';

export const RecentSignIn = Type.Object({ at: Type.String(), client: Type.Optional(Type.String()) });

export const UserSummary = Type.Object({
  name: Type.String(),
  /** `local`: `porthole user add`; `directory`: LDAP, Active Directory or OpenID Connect, seen signing in. */
  source: Type.Union([Type.Literal('local'), Type.Literal('directory')]),
  /** A local user's roles and groups; a directory user's come from the directory at each sign-in. */
  roles: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  /** Sign-ins in the audit trail's last 30 days, newest last (at most 5). */
  signIns: Type.Array(RecentSignIn),
  /** How many sign-ins the last 30 days hold in all. */
  signInCount: Type.Integer(),
  /** Display sessions open now. */
  liveSessions: Type.Integer(),
});
export type UserSummary = Static<typeof UserSummary>;

export const HypervisorHealth = Type.Object({
  name: Type.String(),
  host: Type.String(),
  reachable: Type.Boolean(),
  desktops: Type.Integer(),
  running: Type.Integer(),
  lastError: Type.Optional(Type.Object({ at: Type.String(), message: Type.String() })),
});
export type HypervisorHealth = Static<typeof HypervisorHealth>;
