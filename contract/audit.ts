// The audit trail: who did what to whose desktop, as both halves see it (the gateway: sign-ins,
// tokens, shadowing, administration; the proxy: connections opened and closed). No event ever
// carries a secret: a token is named by its id, never written.

export interface AuditEvent {
  /** `sign-in`, `sign-in.refused`, `token.issued`, `connection.opened`, ... (README, "Audit trail"). */
  event: string;
  user?: string;
  desktop?: string;
  protocol?: string;
  /** The client's address. */
  client?: string;
  [field: string]: string | number | boolean | undefined;
}

/** A recorded event: what was recorded, with when (ISO 8601). */
export type RecordedEvent = AuditEvent & { at: string };

export interface AuditTrail {
  record(event: AuditEvent): void;
}
