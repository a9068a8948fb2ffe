// The body of every error answer: one sentence a person understands.
import { Type, type Static } from 'typebox';

export const ErrorAnswer = Type.Object({ error: Type.String() });
export type ErrorAnswer = Static<typeof ErrorAnswer>;

/** A 204's empty body. */
export const NoContent = Type.Null();
