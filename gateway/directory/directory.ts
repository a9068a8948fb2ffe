// What sign-in asks of a school directory (LDAP, Active Directory), whatever speaks to it.
import type { Principal } from '../../contract/desktop.js';

/** The directory could not answer (down, unreachable, its certificate or Porthole's bind refused). */
export class DirectoryUnavailableError extends Error {
  override name = 'DirectoryUnavailableError';
}

/** What users read while the directory cannot answer; the reason itself goes to the log only. */
export const DIRECTORY_UNAVAILABLE =
  'The school directory cannot be reached right now, so directory accounts cannot sign in. Local accounts still can. Try again in a few minutes; if it goes on, tell your administrator.';

export interface Directory {
  /**
   * The principal when the name and password are right; undefined when either is wrong (the two
   * are not told apart). Throws DirectoryUnavailableError when the directory cannot answer.
   */
  authenticate(username: string, password: string): Promise<Principal | undefined>;
  /** The principal as the directory says now (a signed-in user's groups), undefined when the user is gone. */
  lookup(username: string): Promise<Principal | undefined>;
  close(): Promise<void>;
}
