// Signed-in directory users' principals, kept for `maxAgeMs` after they were read: a request
// within that time uses the groups and roles read at sign-in (or at the last re-read), a later
// one reads them again. So a user removed from a group in the directory loses it, and the
// desktops it opened, at their first request after at most `maxAgeMs`.
import type { Principal } from '../../contract/desktop.js';
import type { Directory } from './directory.js';

interface Cached {
  principal: Principal;
  readAt: number;
}

/** At most this many names kept; past that the longest unread is dropped (its user signs in again). */
const MAX_ENTRIES = 200_000;

export class CachedDirectory implements Directory {
  readonly #byName = new Map<string, Cached>();
  readonly #reading = new Map<string, Promise<Principal | undefined>>();

  constructor(
    private readonly directory: Directory,
    readonly maxAgeMs: number,
  ) {}

  async authenticate(username: string, password: string): Promise<Principal | undefined> {
    const principal = await this.directory.authenticate(username, password);
    if (principal) this.#keep(principal);
    return principal;
  }

  /**
   * The principal of a user who signed in through the directory, read at most maxAgeMs ago or
   * read now; undefined for names that did not. Throws when the directory cannot answer.
   */
  async lookup(username: string): Promise<Principal | undefined> {
    const cached = this.#byName.get(username);
    // Only names that signed in through the directory: a session of a local user since removed
    // must not become a directory user of the same name.
    if (!cached) return undefined;
    if (Date.now() - cached.readAt < this.maxAgeMs) return copy(cached.principal);
    // Requests of one user at once share one read.
    let reading = this.#reading.get(username);
    if (!reading) {
      reading = this.directory.lookup(username).finally(() => this.#reading.delete(username));
      this.#reading.set(username, reading);
    }
    const principal = await reading;
    if (principal) this.#keep(principal);
    else this.#byName.delete(username);
    return principal && copy(principal);
  }

  close(): Promise<void> {
    return this.directory.close();
  }

  #keep(principal: Principal): void {
    this.#byName.delete(principal.username);
    if (this.#byName.size >= MAX_ENTRIES) this.#byName.delete(this.#byName.keys().next().value!);
    this.#byName.set(principal.username, { principal: copy(principal), readAt: Date.now() });
  }
}

function copy(p: Principal): Principal {
  return { username: p.username, roles: [...p.roles], groups: [...p.groups] };
}
