// The `directory.ldap` settings as the directory module uses them (serve/directory-config.ts
// reads and checks them; the CA is read from its file there).
import type { GroupRoles } from './group-roles.js';

export interface LdapSettings {
  /** Tried in order: the first that answers serves, the others stand in when it does not. */
  urls: string[];
  /** StartTLS on ldap:// URLs (ldaps:// is TLS from the first byte). */
  startTls: boolean;
  /** PEM: the authorities the directory's certificate must chain to; the system's when absent. */
  ca?: string | Buffer;
  /** The service account that searches; anonymous search when absent. */
  bindDn?: string;
  /** From PORTHOLE_LDAP_BIND_PASSWORD. */
  bindPassword?: string;
  userBase: string;
  userFilter: string;
  /** Without it, groups come from the user entry's memberOf only. */
  groupBase?: string;
  groupFilter: string;
  groupName: string;
  roles: GroupRoles;
  /** Groups within groups count (followed by Porthole, any directory). */
  nestedGroups: boolean;
  /** How long a signed-in directory user's groups and roles are used before they are read again. */
  cacheSeconds: number;
  /** Bound on connecting to one URL and on each operation. */
  timeoutSeconds: number;
}
