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
  /** Connected; reconnecting (the connection was lost, retries under way with backoff); down (the retries keep failing). */
  state: Type.Union([Type.Literal('connected'), Type.Literal('reconnecting'), Type.Literal('down')]),
  /** When this state began (ISO 8601). */
  since: Type.String(),
  /** libvirt's reason, while not connected. */
  reason: Type.Optional(Type.String()),
  /** `state` is `connected`. */
  reachable: Type.Boolean(),
  desktops: Type.Integer(),
  running: Type.Integer(),
  lastError: Type.Optional(Type.Object({ at: Type.String(), message: Type.String() })),
});
export type HypervisorHealth = Static<typeof HypervisorHealth>;

/**
 * A running desktop's figures (admins): from libvirt's statistics, read in one call per host per
 * interval; rates over the interval before `at`, absent until two readings were taken.
 */
export const DesktopFigures = Type.Object({
  id: Type.String(),
  hypervisor: Type.String(),
  at: Type.String(),
  /** Share of its vCPUs' time used, 0 to 1. */
  cpu: Type.Optional(Type.Number()),
  vcpus: Type.Optional(Type.Integer()),
  /** Memory the guest has, the most it may have, and what it holds in the host's memory, bytes. */
  memoryBytes: Type.Optional(Type.Number()),
  maxMemoryBytes: Type.Optional(Type.Number()),
  residentBytes: Type.Optional(Type.Number()),
  /** Bytes per second, summed over its network interfaces and its disks. */
  netRxBytesPerSecond: Type.Optional(Type.Number()),
  netTxBytesPerSecond: Type.Optional(Type.Number()),
  diskReadBytesPerSecond: Type.Optional(Type.Number()),
  diskWriteBytesPerSecond: Type.Optional(Type.Number()),
});
export type DesktopFigures = Static<typeof DesktopFigures>;
