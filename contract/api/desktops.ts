// The desktop list and connect: what a browser may know of a desktop (never its endpoints or
// passwords, which the response schema keeps out), and the attempts it opens it with.
import { Type, type Static } from 'typebox';

export const DesktopSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hypervisor: Type.String(),
  state: Type.String(),
  protocols: Type.Array(Type.String()),
  /** This user may start, reboot and shut it down. */
  power: Type.Boolean(),
});
export type DesktopSummary = Static<typeof DesktopSummary>;

export const DesktopList = Type.Array(DesktopSummary);

export const DesktopIdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const PowerAccepted = Type.Object({ state: Type.String() });

/** The connect body, bounded by the protocols this server carries. */
export function connectBody(protocols: readonly string[]) {
  return Type.Object(
    {
      protocols: Type.Optional(Type.Array(Type.Enum([...protocols]), { minItems: 1, maxItems: protocols.length, uniqueItems: true })),
      viewOnly: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  );
}
export type ConnectBody = Static<ReturnType<typeof connectBody>>;

/**
 * One protocol attempt, as `connect` and an accepted shadowing answer it. An attempt of a
 * protocol whose client names its destination (RDP) carries `destination` (host:port), which the
 * client must put in its first message and the proxy checks against the inventory.
 */
export const Attempt = Type.Object({
  protocol: Type.String(),
  url: Type.String(),
  token: Type.String(),
  expiresAt: Type.String(),
  destination: Type.Optional(Type.String()),
});
export type Attempt = Static<typeof Attempt>;

export const Attempts = Type.Object({ attempts: Type.Array(Attempt) });
