// Signing in and who is signed in.
import { Type, type Static } from 'typebox';

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Principal = Type.Object({
  username: Type.String(),
  roles: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
});
export type Principal = Static<typeof Principal>;
