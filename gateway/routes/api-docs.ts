// The API reference for people: Swagger UI (@fastify/swagger-ui) at /api/docs, rendering the
// same OpenAPI document as /api/openapi.json. It loads only its own script and style files (no
// inline scripts or styles), so it runs under the strict CSP of every other page
// (http/security-headers.ts), which this plugin does not loosen (staticCSP stays off).
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function apiReference(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // "Try it out" would send calls with the reader's own sign-in: reading is what the page is for.
    uiConfig: { supportedSubmitMethods: [], docExpansion: 'list', deepLinking: true, validatorUrl: null },
  });
}
