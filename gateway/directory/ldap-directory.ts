// Sign-in against LDAP or Active Directory: search the user with the service account (or
// anonymously), bind as the entry found to check the password, then read the groups (the user
// entry's memberOf, a search under groupBase, and groups within groups when asked). Unknown
// names and wrong passwords take the same steps (a bind to a DN that does not exist), so
// neither the answer nor its time tells whether a name is in the directory.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SizeLimitExceededError, type Client, type Entry } from 'ldapts';
import type { Principal } from '../../contract/desktop.js';
import type { Directory } from './directory.js';
import { DirectoryUnavailableError } from './directory.js';
import { LdapConnections, type Connection } from './ldap-connections.js';
import { fillFilter, usernameAttribute } from './ldap-filter.js';
import { firstRdnValue, valuesOf } from './ldap-names.js';
import type { LdapSettings } from './ldap-settings.js';
import { rolesOf } from './group-roles.js';

/** How deep groups within groups are followed (and a loop of groups ends). */
const MAX_NESTING = 8;

export class LdapDirectory implements Directory {
  readonly #connections: LdapConnections;
  /** The attribute the user filter matches the name against: its value is the principal's name. */
  readonly #nameAttribute: string | undefined;
  /** Bound to when the name is unknown, so that an unknown name costs a bind as a wrong password does. */
  readonly #decoyDn: string;
  #unavailable = false;

  constructor(
    private readonly settings: LdapSettings,
    private readonly log: Logger,
  ) {
    this.#connections = new LdapConnections(settings);
    this.#nameAttribute = usernameAttribute(settings.userFilter);
    this.#decoyDn = `cn=porthole-no-such-user-${randomBytes(8).toString('hex')},${settings.userBase}`;
  }

  authenticate(username: string, password: string): Promise<Principal | undefined> {
    return this.#answer(async (connection) => {
      await connection.asService();
      const entry = await this.#findUser(connection.client, username);
      const bound = await connection.bindsAs(entry?.dn ?? this.#decoyDn, password);
      if (!entry || !bound) return undefined;
      await connection.asService();
      return this.#principalOf(connection.client, entry, username);
    });
  }

  lookup(username: string): Promise<Principal | undefined> {
    return this.#answer(async (connection) => {
      await connection.asService();
      const entry = await this.#findUser(connection.client, username);
      return entry ? this.#principalOf(connection.client, entry, username) : undefined;
    });
  }

  close(): Promise<void> {
    return this.#connections.close();
  }

  /** Runs `work`, logging when the directory stops and starts answering (not at every refusal). */
  async #answer<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    try {
      const result = await this.#connections.use(work);
      if (this.#unavailable) this.log.info('the directory answers again');
      this.#unavailable = false;
      return result;
    } catch (error) {
      if (!(error instanceof DirectoryUnavailableError)) throw error;
      this.log.error(
        { reason: error.message },
        this.#unavailable ? 'the directory still cannot be reached' : 'the directory cannot be reached',
      );
      this.#unavailable = true;
      throw error;
    }
  }

  /** The one entry the user filter finds; none when there are none or several (ambiguous). */
  async #findUser(client: Client, username: string): Promise<Entry | undefined> {
    const { searchEntries } = await client
      .search(this.settings.userBase, {
        scope: 'sub',
        filter: fillFilter(this.settings.userFilter, { username }),
        attributes: [...(this.#nameAttribute ? [this.#nameAttribute] : []), 'memberOf'],
        sizeLimit: 2,
      })
      .catch((error: Error) => {
        // Two or more entries exceed the size limit: ambiguous, so nobody signs in with that name.
        if (error instanceof SizeLimitExceededError) return { searchEntries: [{}, {}] as Entry[] };
        throw error;
      });
    if (searchEntries.length > 1) {
      this.log.warn({ user: username }, 'the user filter finds more than one entry for this name: nobody signs in with it');
      return undefined;
    }
    return searchEntries[0];
  }

  async #principalOf(client: Client, entry: Entry, typed: string): Promise<Principal> {
    const username = (this.#nameAttribute && valuesOf(entry, this.#nameAttribute)[0]) || typed;
    const groups = await this.#groupsOf(client, entry, username);
    return { username, roles: rolesOf(groups, this.settings.roles), groups };
  }

  async #groupsOf(client: Client, user: Entry, username: string): Promise<string[]> {
    const { groupBase, groupFilter, groupName, nestedGroups } = this.settings;
    const names = new Map<string, string>(); // group DN (lower case) -> name
    const add = async (dn: string, entry?: Entry) => {
      const key = dn.toLowerCase();
      if (names.has(key)) return false;
      const name = entry ? valuesOf(entry, groupName)[0] : (firstRdnValue(dn, groupName) ?? (await this.#groupName(client, dn)));
      names.set(key, name ?? '');
      return true;
    };
    for (const dn of valuesOf(user, 'memberOf')) await add(dn);
    if (groupBase) {
      const { searchEntries } = await client.search(groupBase, {
        scope: 'sub',
        filter: fillFilter(groupFilter, { username, dn: user.dn }),
        attributes: [groupName],
      });
      for (const group of searchEntries) await add(group.dn, group);
    }
    if (nestedGroups && groupBase) {
      // Groups whose member (or uniqueMember) is a group found so far, level by level.
      let level = [...names.keys()];
      for (let depth = 0; depth < MAX_NESTING && level.length > 0; depth++) {
        const filter = `(|${level.map((dn) => fillFilter('(member={dn})(uniqueMember={dn})', { username, dn })).join('')})`;
        const { searchEntries } = await client.search(groupBase, { scope: 'sub', filter, attributes: [groupName] });
        const next: string[] = [];
        for (const group of searchEntries) if (await add(group.dn, group)) next.push(group.dn.toLowerCase());
        level = next;
      }
    }
    return [...new Set([...names.values()].filter(Boolean))].sort();
  }

  /** A memberOf group whose DN does not start with the name attribute: read the entry. */
  async #groupName(client: Client, dn: string): Promise<string | undefined> {
    const { searchEntries } = await client
      .search(dn, { scope: 'base', attributes: [this.settings.groupName] })
      .catch(() => ({ searchEntries: [] as Entry[] }));
    return searchEntries[0] ? valuesOf(searchEntries[0], this.settings.groupName)[0] : undefined;
  }
}
