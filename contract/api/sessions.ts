// Live sessions as helpdesk and admin see them, and an admin's revocation of a user.
import { Type, type Static } from 'typebox';

export const LiveSessionSummary = Type.Object({
  id: Type.String(),
  user: Type.String(),
  desktop: Type.String(),
  protocol: Type.String(),
  startedAt: Type.String(),
  watchers: Type.Array(Type.String()),
  /** With shared state: the process that carries it, `host:pid:random`. */
  node: Type.Optional(Type.String()),
  /** Bytes carried so far, to the browser and to the display (all the session's connections). */
  bytesToClient: Type.Optional(Type.Integer()),
  bytesToDisplay: Type.Optional(Type.Integer()),
});
export type LiveSessionSummary = Static<typeof LiveSessionSummary>;

export const SessionIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const UserNameParams = Type.Object({ name: Type.String({ maxLength: 64 }) });

export const Revocation = Type.Object({ signIns: Type.Integer(), displaySessions: Type.Integer() });
