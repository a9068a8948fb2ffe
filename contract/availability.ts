// Whether this process takes new sign-ins and connections. It does not while it drains (SIGTERM),
// and, with shared state, while it cannot reach its store: it then fails closed. The gateway and
// the proxy ask it; the wiring decides it.

export interface Availability {
  /** Why new work is refused now, in words for a person; undefined while the process serves. */
  refusal(): string | undefined;
}
