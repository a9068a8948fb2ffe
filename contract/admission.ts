// The last say of the control plane on a verified token, asked by the proxy before it opens a
// display: the sign-in the token was issued to must still stand, and a helpdesk's shadowing
// must still be accepted. The proxy knows neither; the gateway answers (from shared state, when
// there is one: hence asynchronous).
import type { DisplayTokenClaims } from './display-token.js';

export interface Admission {
  /** The reason to refuse the token, in words for its user, or undefined to admit it. */
  admit(claims: DisplayTokenClaims): Promise<string | undefined>;
}
