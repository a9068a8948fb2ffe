// Helpdesk shadowing: ask, answer, poll, end.
import { Type, type Static } from 'typebox';
import { Attempt } from './desktops.js';

export const ShadowAskBody = Type.Object({ control: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const ShadowAsked = Type.Object({ requestId: Type.String() });

export const RequestIdParams = Type.Object({ requestId: Type.String({ maxLength: 64 }) });

/** A request about one of the signed-in user's own sessions, for their viewer's prompt. */
export const ShadowNotice = Type.Object({
  requestId: Type.String(),
  asker: Type.String(),
  desktop: Type.String(),
  control: Type.Boolean(),
  state: Type.String(),
});
export type ShadowNotice = Static<typeof ShadowNotice>;

/**
 * What the asker's viewer shows: the state, whose screen it is (the viewer says "Watching
 * alice's class-3b-desk-1 — view only"), and once accepted, the attempt to open it with.
 */
export const ShadowStatus = Type.Object({
  state: Type.String(),
  user: Type.Optional(Type.String()),
  desktop: Type.Optional(Type.String()),
  desktopName: Type.Optional(Type.String()),
  control: Type.Optional(Type.Boolean()),
  attempts: Type.Optional(Type.Array(Attempt)),
});
export type ShadowStatus = Static<typeof ShadowStatus>;

export const ShadowAnswerBody = Type.Object({ accept: Type.Boolean() }, { additionalProperties: false });
