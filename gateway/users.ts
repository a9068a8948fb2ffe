// Local users: argon2id password hashes in PORTHOLE_DATA/users.json, written atomically and
// readable by the service's own user only.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import argon2 from 'argon2';
import type { Principal } from '../contract/desktop.js';
import { PasswordCheckTime } from './password-check-time.js';

export const ROLES = ['user', 'helpdesk', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  username: string;
  roles: Role[];
  groups: string[];
  passwordHash: string;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function validateUsername(name: string): string {
  if (!USERNAME.test(name)) throw new Error(`user name "${name}" must be 1-64 letters, digits, dot, dash, underscore or @`);
  return name;
}

export function validateGroup(name: string): string {
  if (!GROUP.test(name)) throw new Error(`group "${name}" must be 1-64 letters, digits, dot, dash, underscore or @`);
  return name;
}

export class UserStore {
  readonly path: string;
  #users: Map<string, UserRecord> | undefined;
  #loadedMtime = -1;
  /** How long a check takes, which a name with no password here waits, so timing does not tell. */
  readonly checkTime = new PasswordCheckTime();

  constructor(dataDir: string) {
    this.path = join(dataDir, 'users.json');
  }

  /** The users, read again whenever the file changed (e.g. `porthole user add` while serving). */
  async #load(): Promise<Map<string, UserRecord>> {
    const mtime = await stat(this.path).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (this.#users && mtime === this.#loadedMtime) return this.#users;
    this.#loadedMtime = mtime;
    let records: UserRecord[] = [];
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as { users?: UserRecord[] };
      records = parsed.users ?? [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot read ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    this.#users = new Map(records.map((u) => [u.username, u]));
    return this.#users;
  }

  async #save(users: Map<string, UserRecord>): Promise<void> {
    const dir = join(this.path, '..');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ users: [...users.values()] }, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.path);
  }

  /** Adds a user, or updates their password, role and groups. Returns whether the user is new. */
  async upsert(username: string, password: string, role: Role, groups: string[]): Promise<boolean> {
    validateUsername(username);
    groups.forEach(validateGroup);
    if (!ROLES.includes(role)) throw new Error(`role "${role}" must be one of ${ROLES.join(', ')}`);
    if (password.length < 8) throw new Error('the password must have at least 8 characters');
    const users = await this.#load();
    const isNew = !users.has(username);
    users.set(username, {
      username,
      roles: [role],
      groups: [...new Set(groups)],
      passwordHash: await argon2.hash(password, { type: argon2.argon2id }),
    });
    await this.#save(users);
    return isNew;
  }

  /** Every local user, by name (their password hashes stay here). */
  async list(): Promise<Array<Omit<UserRecord, 'passwordHash'>>> {
    return [...(await this.#load()).values()]
      .map(({ username, roles, groups }) => ({ username, roles: [...roles], groups: [...groups] }))
      .sort((a, b) => a.username.localeCompare(b.username));
  }

  async get(username: string): Promise<UserRecord | undefined> {
    return (await this.#load()).get(username);
  }

  /** The principal when the password matches, else undefined; takes as long either way. */
  async authenticate(username: string, password: string): Promise<Principal | undefined> {
    const user = (await this.#load()).get(username);
    if (!user) {
      await this.checkTime.wait();
      return undefined;
    }
    if (!(await this.checkTime.check(user.passwordHash, password))) return undefined;
    return { username: user.username, roles: [...user.roles], groups: [...user.groups] };
  }
}
