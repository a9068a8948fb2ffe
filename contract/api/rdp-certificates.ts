// RDP certificates pinned on first use, as administrators see them.
import { Type } from 'typebox';

export const PinnedCertificate = Type.Object({
  desktop: Type.String(),
  fingerprint: Type.String(),
  subject: Type.String(),
  issuer: Type.String(),
  validTo: Type.String(),
  firstSeen: Type.String(),
});

export const PinDesktopParams = Type.Object({ desktop: Type.String({ maxLength: 200 }) });
