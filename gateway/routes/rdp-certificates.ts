// Administrators see the RDP certificate Porthole pinned for each desktop (trust on first use)
// and forget one when a desktop legitimately got a new certificate (reinstalled, renewed); the
// next connection then pins the certificate it sees.
import type { FastifyPluginAsync } from 'fastify';
import type { CertificatePins } from '../../proxy/rdp/certificate-pins.js';
import type { AuditLog } from '../audit-log.js';
import { requireUser } from '../http/authentication.js';
import { errorSchema } from '../http/schemas.js';

const pinSchema = {
  type: 'object',
  properties: {
    desktop: { type: 'string' }, fingerprint: { type: 'string' }, subject: { type: 'string' },
    issuer: { type: 'string' }, validTo: { type: 'string' }, firstSeen: { type: 'string' },
  },
  required: ['desktop', 'fingerprint', 'subject', 'issuer', 'validTo', 'firstSeen'],
} as const;

export const rdpCertificateRoutes: FastifyPluginAsync<{ pins: CertificatePins; audit: AuditLog }> = async (app, { pins, audit }) => {
  app.get('/api/rdp/certificates', {
    onRequest: requireUser('admin'),
    schema: { response: { 200: { type: 'array', items: pinSchema }, 401: errorSchema, 403: errorSchema } },
  }, async () => pins.list());

  app.delete<{ Params: { desktop: string } }>('/api/rdp/certificates/:desktop', {
    onRequest: requireUser('admin'),
    schema: {
      params: { type: 'object', properties: { desktop: { type: 'string', maxLength: 200 } }, required: ['desktop'] },
      response: { 401: errorSchema, 403: errorSchema, 404: errorSchema },
    },
  }, async (request, reply) => {
    const pin = pins.get(request.params.desktop);
    if (!pin || !pins.forget(request.params.desktop)) return reply.code(404).send({ error: 'Porthole has no RDP certificate pinned for this desktop.' });
    audit.record({ event: 'rdp-certificate-forgotten', admin: request.principal!.username, desktop: pin.desktop, fingerprint: pin.fingerprint });
    return reply.code(204).send();
  });
};
