// Administrators see the RDP certificate Porthole pinned for each desktop (trust on first use)
// and forget one when a desktop legitimately got a new certificate (reinstalled, renewed); the
// next connection then pins the certificate it sees.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorAnswer, NoContent } from '../../contract/api/errors.js';
import { PinDesktopParams, PinnedCertificate } from '../../contract/api/rdp-certificates.js';
import type { CertificatePinStore } from '../../contract/certificate-pins.js';
import type { AuditLog } from '../audit-log.js';
import { requireUser } from '../http/authentication.js';

export const rdpCertificateRoutes: FastifyPluginAsyncTypebox<{ pins: CertificatePinStore; audit: AuditLog }> = async (
  app,
  { pins, audit },
) => {
  app.get(
    '/api/rdp/certificates',
    {
      onRequest: requireUser('admin'),
      schema: { response: { 200: Type.Array(PinnedCertificate), 401: ErrorAnswer, 403: ErrorAnswer } },
    },
    async () => pins.list(),
  );

  app.delete(
    '/api/rdp/certificates/:desktop',
    {
      onRequest: requireUser('admin'),
      schema: { params: PinDesktopParams, response: { 204: NoContent, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer } },
    },
    async (request, reply) => {
      const pin = pins.get(request.params.desktop);
      if (!pin || !pins.forget(request.params.desktop))
        return reply.code(404).send({ error: 'Porthole has no RDP certificate pinned for this desktop.' });
      audit.record({
        event: 'rdp-certificate-forgotten',
        admin: request.principal!.username,
        desktop: pin.desktop,
        fingerprint: pin.fingerprint,
      });
      return reply.code(204).send(null);
    },
  );
};
