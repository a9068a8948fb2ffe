// The API reference for people: Swagger UI (@fastify/swagger-ui) at /api/docs, rendering the
// same OpenAPI document as /api/openapi.json. Its page loads only its own script and style files
// (no inline scripts; React sets styles through the CSSOM, which CSP allows), so it runs under the
// strict CSP of every other page (http/security-headers.ts), which this plugin does not loosen
// (staticCSP stays off). Redoc was the other candidate: styled-components injects <style>
// elements, which need 'unsafe-inline'. test/e2e/api-reference.test.ts checks that no CSP refusal happens.
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function apiReference(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // "Try it out" would send calls with the reader's own sign-in: reading is what the page is for.
    // BaseLayout: the standalone layout's top bar (a spec URL box) draws the Swagger logo with an
    // inline <style>, the one thing of Swagger UI that the strict CSP refuses.
    uiConfig: { layout: 'BaseLayout', supportedSubmitMethods: [], docExpansion: 'list', deepLinking: true, validatorUrl: null },
  });
}
