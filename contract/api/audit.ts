// The audit trail as administrators search it.
import { Type } from 'typebox';

export const AuditQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ format: 'date-time' })),
    user: Type.Optional(Type.String({ maxLength: 64 })),
    desktop: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** One event: its kind, when, and the fields of its kind (README, "Audit trail"). */
export const AuditEntry = Type.Object(
  {
    at: Type.String(),
    event: Type.String(),
    user: Type.Optional(Type.String()),
    desktop: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.String()),
    client: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
