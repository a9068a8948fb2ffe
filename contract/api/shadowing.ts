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

export const ShadowStatus = Type.Object({ state: Type.String(), attempts: Type.Optional(Type.Array(Attempt)) });
export type ShadowStatus = Static<typeof ShadowStatus>;

export const ShadowAnswerBody = Type.Object({ accept: Type.Boolean() }, { additionalProperties: false });
